// RPM benchmark: our payload extraction (headers, zstd cpio stream into the blob) vs `rpm2cpio | cpio -idm`, same package.
import { execa } from "execa";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readRpmPackage } from "../src/tree/rpm/package.js";
import { extractPayload } from "../src/tree/rpm/payload.js";
import { TreeBuilder } from "../src/tree/tree.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(task: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await task();
  return (performance.now() - t0) / 1000;
}

/** An RPM of the corpus tree (zstd payload, as Fedora builds them), made once with rpmbuild and cached. */
export async function corpusRpm(tree: string, cacheDir: string): Promise<string> {
  const out = join(cacheDir, "bench-corpus.rpm");
  if (existsSync(out)) return out;
  const top = join(cacheDir, "rpmbuild");
  await rm(top, { recursive: true, force: true });
  await mkdir(top, { recursive: true });
  const spec = join(top, "bench.spec");
  await writeFile(
    spec,
    [
      "Name: bench-corpus",
      "Version: 1",
      "Release: 1",
      "Summary: sysextkit benchmark corpus",
      "License: various",
      "BuildArch: x86_64",
      "AutoReqProv: no",
      "%description",
      "The benchmark tree.",
      "%install",
      `cp -a ${tree}/. %{buildroot}/`,
      "%files",
      "/usr",
      "",
    ].join("\n"),
  );
  const defines = [
    "_topdir " + top,
    "_binary_payload w3.zstdio",
    "debug_package %{nil}",
    "__os_install_post %{nil}",
  ];
  await execa("rpmbuild", ["-bb", "--nodeps", ...defines.flatMap((d) => ["--define", d]), spec]);
  const [file] = await readdir(join(top, "RPMS", "x86_64"));
  await rename(join(top, "RPMS", "x86_64", file!), out);
  await rm(top, { recursive: true, force: true });
  return out;
}

export interface RpmBench {
  readonly bytes: number;
  readonly files: number;
  readonly oursSeconds: number;
  readonly refSeconds: number;
}

/** Median times of our extraction and of rpm2cpio | cpio -idm into an empty directory, alternating. */
export async function benchRpm(rpm: string, work: string, rounds: number): Promise<RpmBench> {
  const ours: number[] = [];
  const ref: number[] = [];
  let bytes = 0;
  let files = 0;
  for (let i = 0; i < rounds; i++) {
    const dir = join(work, "rpm-extract");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    ours.push(
      await timed(async () => {
        const pkg = await readRpmPackage(rpm);
        const b = new TreeBuilder();
        const r = await extractPayload(b, pkg, {
          exclude: [],
          onConflict: "error",
          blobFile: join(dir, "blob"),
          shared: new Map(),
        });
        files = r.entries;
        bytes = pkg.files.reduce((n, f) => n + ((f.mode & 0o170000) === 0o100000 ? f.size : 0), 0);
      }),
    );
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    ref.push(
      await timed(() => execa("sh", ["-c", 'rpm2cpio "$1" | cpio -idm --quiet', "sh", rpm], { cwd: dir })),
    );
  }
  await rm(join(work, "rpm-extract"), { recursive: true, force: true });
  return { bytes, files, oursSeconds: median(ours), refSeconds: median(ref) };
}
