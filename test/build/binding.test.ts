// Base binding in builds: supported ranges, IDs and architectures, strict vs SYSEXT_LEVEL vs _any, no partial output.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExtension, readBase, specFromObject, type BaseRelease } from "../../src/index.js";
import { needTools } from "../helpers/tools.js";

let dir: string;

async function base(fields: string): Promise<BaseRelease> {
  const f = join(dir, `os-release-${Math.random().toString(16).slice(2)}`);
  await writeFile(f, fields);
  return readBase({ path: f, arch: "x86-64" });
}

function spec(extra: Record<string, unknown>) {
  return specFromObject({
    name: "bind",
    sources: [{ type: "directory", path: join(dir, "tree") }],
    ...extra,
  });
}

beforeAll(async () => {
  await needTools("mksquashfs");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-binding-"));
  await mkdir(join(dir, "tree/usr/share/bind"), { recursive: true });
  await writeFile(join(dir, "tree/usr/share/bind/file"), "x\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("base binding", () => {
  it("builds for a base inside base.versions and refuses one outside, leaving no file", async () => {
    const s = spec({ base: { ids: ["flatcar"], versions: ">=3815.0.0 <4000.0.0" } });
    const good = await buildExtension({
      spec: s,
      base: await base("ID=flatcar\nVERSION_ID=3815.2.0\n"),
      outDir: join(dir, "in"),
      epoch: 0,
    });
    expect(good.release).toMatchObject({ ID: "flatcar", VERSION_ID: "3815.2.0", ARCHITECTURE: "x86-64" });
    const out = join(dir, "out-range");
    await expect(
      buildExtension({
        spec: s,
        base: await base("ID=flatcar\nVERSION_ID=4012.0.0\n"),
        outDir: out,
        epoch: 0,
      }),
    ).rejects.toMatchObject({ code: "BASE_UNSUPPORTED", location: { field: "base.versions" } });
    await expect(
      buildExtension({
        spec: s,
        base: await base("ID=debian\nVERSION_ID=3815.2.0\n"),
        outDir: out,
        epoch: 0,
      }),
    ).rejects.toMatchObject({ code: "BASE_UNSUPPORTED", location: { field: "base.ids" } });
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it("refuses an architecture the spec does not list", async () => {
    const s = spec({ architectures: ["arm64"] });
    await expect(
      buildExtension({
        spec: s,
        base: await base("ID=x\nVERSION_ID=1\n"),
        outDir: join(dir, "arch"),
        epoch: 0,
      }),
    ).rejects.toMatchObject({
      code: "BASE_UNSUPPORTED",
      location: { field: "architectures" },
    });
  });

  it("strict binding needs VERSION_ID; sysext-level and _any opt out and say so", async () => {
    await expect(
      buildExtension({ spec: spec({}), base: await base("ID=x\n"), outDir: join(dir, "nov"), epoch: 0 }),
    ).rejects.toMatchObject({
      code: "BASE_INVALID",
    });
    const lvl = await buildExtension({
      spec: spec({ base: { binding: "sysext-level" } }),
      base: await base("ID=x\nSYSEXT_LEVEL=2.1\n"),
      outDir: join(dir, "lvl"),
      epoch: 0,
    });
    expect(lvl.release).toMatchObject({ ID: "x", SYSEXT_LEVEL: "2.1" });
    expect(lvl.release.VERSION_ID).toBeUndefined();
    expect(lvl.findings.map((f) => f.code)).toContain("binding-sysext-level");
    const any = await buildExtension({
      spec: spec({ base: { binding: "any" } }),
      base: await base("ID=x\n"),
      outDir: join(dir, "any"),
      epoch: 0,
    });
    expect(any.release.ID).toBe("_any");
    expect(any.findings.map((f) => f.code)).toContain("binding-any");
  });

  it("--strict turns warnings into errors", async () => {
    await mkdir(join(dir, "suid/usr/bin"), { recursive: true });
    await writeFile(join(dir, "suid/usr/bin/tool"), "#!/bin/sh\n", { mode: 0o4755 });
    const { chmod } = await import("node:fs/promises");
    await chmod(join(dir, "suid/usr/bin/tool"), 0o4755);
    const s = specFromObject({ name: "suid", sources: [{ type: "directory", path: join(dir, "suid") }] });
    const b = await base("ID=x\nVERSION_ID=1\n");
    const loose = await buildExtension({ spec: s, base: b, outDir: join(dir, "suid-out"), epoch: 0 });
    expect(loose.findings.some((f) => f.code === "setuid-file" && f.severity === "warning")).toBe(true);
    await expect(
      buildExtension({ spec: s, base: b, outDir: join(dir, "suid-strict"), epoch: 0, strict: true }),
    ).rejects.toMatchObject({
      code: "CHECK_FAILED",
    });
    expect(await readdir(join(dir, "suid-strict")).catch(() => [])).toEqual([]);
  });
});
