// Bad package input through the CLI (sysextkit build SPEC --base ROOT): exit 1, a message naming the culprit, no output.
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { buildWithDpkg } from "../helpers/deb.js";
import { needTools } from "../helpers/tools.js";

await needTools("dpkg-deb");
let tmp: string;
let base: string;

/** A small .deb built with dpkg-deb (the independent tool) into `dir`: one executable unless `files` says otherwise. */
function makeDeb(
  def: { package: string; version?: string; arch?: string; depends?: string; files?: Record<string, string> },
  dir: string,
): Promise<string> {
  const files = def.files ?? { [`usr/bin/${def.package}`]: "#!/bin/sh\n" };
  return buildWithDpkg(
    {
      package: def.package,
      version: def.version ?? "1.0-1",
      ...(def.arch ? { arch: def.arch } : {}),
      ...(def.depends ? { fields: { Depends: def.depends } } : {}),
      files: Object.fromEntries(Object.entries(files).map(([p, content]) => [p, { content, mode: 0o755 }])),
    },
    dir,
  );
}

/** A spec with one deb source for `packages` from `debDir`; returns the spec file. */
async function makeSpec(name: string, packages: string[], debDir: string): Promise<string> {
  const dir = join(tmp, `spec-${name}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, "extension.yaml");
  await writeFile(
    file,
    [
      `name: ${name}`,
      "sources:",
      "  - type: deb",
      `    dir: ${debDir}`,
      `    packages: [${packages.join(", ")}]`,
      "",
    ].join("\n"),
  );
  return file;
}

/** Build through the CLI into a fresh OUT; returns the result and what OUT holds afterwards. */
async function build(spec: string): Promise<{ exitCode: number; stderr: string; out: string[] }> {
  const out = await mkdtemp(join(tmp, "out-"));
  const r = await cli(["build", spec, "--base", base, "--arch", "x86-64", "--out", out]);
  return { exitCode: r.exitCode, stderr: r.stderr, out: await readdir(out) };
}

describe("bad package input", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-badinput-"));
    // A base root: os-release and a package database with libc6 only.
    base = join(tmp, "base");
    await mkdir(join(base, "usr/lib"), { recursive: true });
    await mkdir(join(base, "var/lib/dpkg"), { recursive: true });
    await writeFile(join(base, "usr/lib/os-release"), 'ID=debian\nVERSION_ID="12"\n');
    await writeFile(
      join(base, "var/lib/dpkg/status"),
      "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n\n",
    );
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("builds a good package (the fixture itself is fine)", async () => {
    const debs = join(tmp, "good");
    await makeDeb({ package: "goodtool", depends: "libc6 (>= 2.34)" }, debs);
    const r = await build(await makeSpec("good", ["goodtool"], debs));
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.out).toEqual(["good.raw"]);
  });

  it("a corrupt .deb", async () => {
    const debs = join(tmp, "corrupt");
    const file = await makeDeb({ package: "brokentool" }, debs);
    // Keep the ar header, cut the data member short.
    await execa("truncate", ["-s", "200", file]);
    const r = await build(await makeSpec("corrupt", ["brokentool"], debs));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("brokentool_1.0-1_amd64.deb");
    expect(r.out).toEqual([]);
  });

  it("a file that is not a .deb at all", async () => {
    const debs = join(tmp, "garbage");
    await mkdir(debs, { recursive: true });
    await writeFile(join(debs, "garbage_1.0_amd64.deb"), "this is not an ar archive\n");
    const r = await build(await makeSpec("garbage", ["garbage"], debs));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("garbage_1.0_amd64.deb");
    expect(r.out).toEqual([]);
  });

  it("a .deb of the wrong architecture", async () => {
    const debs = join(tmp, "arch");
    await makeDeb({ package: "armtool", arch: "arm64" }, debs);
    const r = await build(await makeSpec("wrongarch", ["armtool"], debs));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("armtool");
    expect(r.stderr).toMatch(/arm64/);
    expect(r.stderr).toMatch(/amd64/);
    expect(r.out).toEqual([]);
  });

  it("a missing dependency (with its version constraint)", async () => {
    const debs = join(tmp, "depends");
    await makeDeb({ package: "needy", depends: "libc6 (>= 2.34), libmissing7 (>= 3.1)" }, debs);
    const r = await build(await makeSpec("depends", ["needy"], debs));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("needy");
    expect(r.stderr).toContain("libmissing7 (>= 3.1)");
    expect(r.stderr).not.toContain("libc6");
    expect(r.out).toEqual([]);
  });

  it("a package that installs usr/lib/os-release", async () => {
    const debs = join(tmp, "osrelease");
    await makeDeb(
      {
        package: "base-files-ish",
        files: { "usr/lib/os-release": "ID=evil\n", "usr/bin/ok": "#!/bin/sh\n" },
      },
      debs,
    );
    const r = await build(await makeSpec("osrelease", ["base-files-ish"], debs));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("usr/lib/os-release");
    expect(r.out).toEqual([]);
  });
});
