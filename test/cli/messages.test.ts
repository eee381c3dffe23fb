// What a newcomer reads: hints that name a usable fix (a flag without a spec), init's $schema and deb example,
// catalog entries by name.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/index.js";
import { parseSpec } from "../../src/spec/load.js";
import { cli, REPO } from "../helpers/cli.js";
import { needTools } from "../helpers/tools.js";

let dir: string;
let base: string;
const arch = hostArch();

beforeAll(async () => {
  await needTools("mksquashfs", "unsquashfs");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-messages-"));
  base = join(dir, "os-release");
  await writeFile(base, "ID=testos\nVERSION_ID=1.2.3\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  for (const [p, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), body);
  }
  return root;
}

describe("build without a spec", () => {
  // Defect: the hint said "add it to strip.paths", a spec field a spec-less build does not have.
  it("offers the --exclude flag in hints, and --exclude leaves the paths out", async () => {
    const src = await tree("specless", {
      "usr/lib/os-release": "ID=x\n",
      "etc/app.conf": "x\n",
      "usr/share/app/data": "x\n",
    });
    const args = ["build", "--name", "app", "--dir", src, "--base", base, "--arch", arch];
    const r = await cli([...args, "--out", join(dir, "out-1")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pass --exclude usr\/lib\/os-release/);
    expect(r.stderr).toMatch(/pass --exclude 'etc\/\*\*'/);
    expect(r.stderr).not.toMatch(/strip\.paths|under drop/);
    const ok = await cli([
      ...args,
      "--exclude",
      "usr/lib/os-release",
      "--exclude",
      "etc/**",
      "--out",
      join(dir, "out-2"),
      "--json",
    ]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const inspect = await cli(["inspect", join(dir, "out-2", "app.raw"), "--json"]);
    const paths = (JSON.parse(inspect.stdout) as { files: Array<{ path: string }> }).files.map((f) => f.path);
    expect(paths).toContain("usr/share/app/data");
    expect(paths).not.toContain("usr/lib/os-release");
    expect(paths.some((p) => p.startsWith("etc"))).toBe(false);
  });
});

describe("sysextkit init", () => {
  const schemaOf = async (spec: string) => {
    const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(await readFile(spec, "utf8"));
    expect(m, "a $schema line").not.toBeNull();
    return resolve(dirname(spec), m![1]!);
  };

  // Defect: $schema pointed at ../../schema/extension.schema.json, which a user project does not have.
  it("points $schema at the package's own schema inside the project holding the package", async () => {
    // This checkout is the project holding the package (the npm-package test covers node_modules/sysextkit).
    const r = await cli(["init", "oem-inside", "--dir", join(REPO, ".cache", "init-test")]);
    expect(r.exitCode, r.stderr).toBe(0);
    const spec = join(REPO, ".cache", "init-test", "oem-inside", "extension.yaml");
    expect(await schemaOf(spec)).toBe(join(REPO, "schema", "extension.schema.json"));
    await rm(join(REPO, ".cache", "init-test"), { recursive: true, force: true });
  });

  it("outside a project writes the schema next to the definitions and points there", async () => {
    const parent = join(dir, "no-project", "extensions");
    const r = await cli(["init", "oem-example", "--dir", parent, "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: string[] }).files;
    expect(files).toContain(join(parent, "extension.schema.json"));
    const spec = join(parent, "oem-example", "extension.yaml");
    const schema = await schemaOf(spec);
    expect(schema).toBe(join(parent, "extension.schema.json"));
    expect(await readFile(schema, "utf8")).toBe(
      await readFile(join(REPO, "schema/extension.schema.json"), "utf8"),
    );
  });

  it("includes a commented deb source example that is valid once uncommented", async () => {
    const parent = join(dir, "deb-example");
    expect((await cli(["init", "oem-deb", "--dir", parent])).exitCode).toBe(0);
    const text = await readFile(join(parent, "oem-deb", "extension.yaml"), "utf8");
    expect(text).toMatch(/^ {2}# - type: deb$/m);
    const uncommented = text.replace(/^ {2}# ( *)(- type: deb|dir:|versionFrom:|packages:)/gm, "  $1$2");
    const { spec } = parseSpec(uncommented, join(parent, "oem-deb", "extension.yaml"));
    expect(spec.sources.map((s) => s.type)).toEqual(["directory", "template", "deb"]);
    // As written (commented), the scaffold builds.
    const b = await cli([
      "build",
      join(parent, "oem-deb", "extension.yaml"),
      "--base",
      base,
      "--out",
      join(dir, "o"),
    ]);
    expect(b.exitCode, b.stderr).toBe(0);
  });
});

describe("catalog entries by name", () => {
  it("sysextkit build oem-qemu builds the shipped definition", async () => {
    const out = join(dir, "catalog-out");
    const r = await cli([
      "build",
      "oem-qemu",
      "--base",
      base,
      "--sysext-version",
      "9.0",
      "--out",
      out,
      "--json",
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "oem-qemu", release: { SYSEXT_VERSION_ID: "9.0" } });
    expect(await readdir(out)).toEqual(["oem-qemu.raw"]);
  });

  it("an unknown name lists the catalog", async () => {
    const r = await cli(["build", "oem-nope", "--base", base, "--out", join(dir, "x")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/extension oem-nope not found/);
    expect(r.stderr).toMatch(/oem-azure, .*oem-vmware/);
  });
});
