// Test helper: small .deb packages built in the test itself, with dpkg-deb or by hand with tar and ar.
import { execa } from "execa";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface DebDef {
  package: string;
  version: string;
  arch?: string;
  /** Further control fields (Depends, Provides, ...). */
  fields?: Record<string, string>;
  files?: Record<string, string | { content: string; mode: number }>;
  symlinks?: Record<string, string>;
  scripts?: Record<string, string>;
  conffiles?: string[];
}

/** Lay out the control and data directories of `def` below `into`. */
async function stage(def: DebDef, into: string): Promise<{ control: string; data: string }> {
  const control = join(into, "control");
  const data = join(into, "data");
  await mkdir(control, { recursive: true });
  await mkdir(data, { recursive: true });
  for (const [path, f] of Object.entries(def.files ?? {})) {
    const abs = join(data, path);
    await mkdir(dirname(abs), { recursive: true });
    const { content, mode } = typeof f === "string" ? { content: f, mode: 0o644 } : f;
    await writeFile(abs, content);
    await chmod(abs, mode);
  }
  for (const [path, target] of Object.entries(def.symlinks ?? {})) {
    await mkdir(dirname(join(data, path)), { recursive: true });
    await symlink(target, join(data, path));
  }
  const fields = {
    Package: def.package,
    Version: def.version,
    Architecture: def.arch ?? "amd64",
    Maintainer: "Test <test@example.org>",
    Description: "test package\n more text\n .\n after an empty line",
    ...def.fields,
  };
  await writeFile(
    join(control, "control"),
    Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join(""),
  );
  if (def.conffiles) await writeFile(join(control, "conffiles"), def.conffiles.map((c) => `${c}\n`).join(""));
  for (const [name, body] of Object.entries(def.scripts ?? {})) {
    await writeFile(join(control, name), body);
    await chmod(join(control, name), 0o755);
  }
  return { control, data };
}

async function withStaging<T>(
  def: DebDef,
  use: (dirs: { control: string; data: string; work: string }) => Promise<T>,
): Promise<T> {
  const work = await mkdtemp(join(tmpdir(), "sysextkit-debstage-"));
  try {
    return await use({ ...(await stage(def, work)), work });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Build with the independent tool, dpkg-deb --build, as <outDir>/<package>_<version>_<arch>.deb. */
export async function buildWithDpkg(def: DebDef, outDir: string, compression = "xz"): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, `${def.package}_${def.version.replace(":", "%3a")}_${def.arch ?? "amd64"}.deb`);
  await withStaging(def, async ({ control, data }) => {
    await execa("mv", [control, join(data, "DEBIAN")]);
    await execa("dpkg-deb", ["--root-owner-group", `-Z${compression}`, "--build", data, out]);
  });
  return out;
}

const COMPRESS: Record<string, string[] | undefined> = {
  gz: ["gzip", "-9n"],
  xz: ["xz"],
  zst: ["zstd", "-q", "--rm"],
  bz2: ["bzip2"],
  "": undefined,
};

/** Assemble by hand: tar both parts, compress them ("" = plain tar), and put them into an ar container. */
export async function buildWithAr(
  def: DebDef,
  outFile: string,
  controlExt: string,
  dataExt: string,
): Promise<string> {
  await mkdir(dirname(outFile), { recursive: true });
  await withStaging(def, async ({ control, data, work }) => {
    const members: string[] = [];
    await writeFile(join(work, "debian-binary"), "2.0\n");
    members.push("debian-binary");
    for (const [name, dir, ext] of [
      ["control", control, controlExt],
      ["data", data, dataExt],
    ] as const) {
      const tarFile = join(work, `${name}.tar`);
      await execa("tar", ["--owner=0", "--group=0", "--numeric-owner", "-C", dir, "-cf", tarFile, "."]);
      const cmd = COMPRESS[ext];
      if (cmd) await execa(cmd[0]!, [...cmd.slice(1), tarFile]);
      members.push(ext ? `${name}.tar.${ext}` : `${name}.tar`);
    }
    await execa("ar", ["rcD", outFile, ...members], { cwd: work });
  });
  return outFile;
}
