// `sysextkit release release.yaml`: every release.yaml field reaches the output; bad specs name file, line, field.
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { releaseManifestSchema } from "../../src/index.js";
import { digestFile } from "../../src/util/fs.js";
import { cli } from "../helpers/cli.js";
import { needTools } from "../helpers/tools.js";
import { genRsa } from "../payload/crau-helpers.js";

await needTools("mksquashfs", "unsquashfs", "openssl", "bzip2", "sha256sum", "zstd");
let dir: string;
let key: { priv: string; pub: string };

const GREET = `name: greet
metadata:
  version: "2.0"
sources:
  - type: file
    path: usr/share/greet/message
    content: "\${greeting} from \${baseId} on \${arch}\\n"
`;

const RELEASE = `# A release of one extension for two architectures.
base: ./os-release
architectures: [x86-64, arm64]
extensions: [./greet]
vars:
  greeting: Howdy
baseUrl: https://updates.example.org/ext/
compressed: [zst]
`;

async function specFile(name: string, text: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, text);
  return f;
}

describe("sysextkit release with a release.yaml", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-release-spec-"));
    key = genRsa(dir, "key");
    await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=3815.2.0\n");
    await mkdir(join(dir, "greet"));
    await writeFile(join(dir, "greet", "extension.yaml"), GREET);
  });

  it("builds every architecture with the spec's base, extensions, vars, baseUrl and compression", async () => {
    const spec = await specFile("release.yaml", RELEASE);
    const out = join(dir, "out");
    // Run from another directory: relative paths in release.yaml are resolved against the file.
    const r = await cli(["release", spec, "--key", key.priv, "--out", out, "--json"], { cwd: tmpdir() });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      schemaVersion: number;
      releases: Array<{ arch: string; files: string[]; outDir: string }>;
      builds: Array<{ image: string; arch: string; sha256: string }>;
    };
    expect(result.schemaVersion).toBe(1);
    expect(result.releases.map((x) => x.arch)).toEqual(["x86-64", "arm64"]);
    // Defect: --json named images inside the deleted temporary build directory. The published name is the
    // one manifest.json gives (image.file), which is on disk in that architecture's directory.
    const published: string[] = [];
    for (const arch of ["x86-64", "arm64"]) {
      const m = releaseManifestSchema.parse(
        JSON.parse(await readFile(join(out, arch, "manifest.json"), "utf8")),
      );
      published.push(join(out, arch, m.extensions[0]!.image.file));
    }
    expect(published).toEqual([
      join(out, "x86-64", "greet-3815.2.0-2.0-x86-64.raw"),
      join(out, "arm64", "greet-3815.2.0-2.0-arm64.raw"),
    ]);
    expect(result.builds.map((b) => b.image)).toEqual(published);
    for (const b of result.builds) expect((await digestFile(b.image)).sha256).toBe(b.sha256);
    for (const rel of result.releases) expect(rel.outDir).toBe(join(out, rel.arch));
    expect((await readdir(out)).sort()).toEqual(["arm64", "x86-64"]);
    for (const arch of ["x86-64", "arm64"]) {
      const rel = join(out, arch);
      const image = `greet-3815.2.0-2.0-${arch}.raw`;
      expect((await readdir(rel)).sort()).toEqual(
        [
          "SHA256SUMS",
          "greet.transfer",
          "greet.conf",
          "greet.feature",
          "greet-stage.transfer",
          "greet-stage.conf",
          "greet.source.conf",
          `greet_3815.2.0_${arch}.raw`,
          "greet.gz",
          "greet.gz.sha256",
          image,
          `${image}.zst`,
          "manifest.json",
          "nebraska-package.json",
          "omaha-packages.xml",
        ].sort(),
      );
      const manifest = releaseManifestSchema.parse(
        JSON.parse(await readFile(join(rel, "manifest.json"), "utf8")),
      );
      expect(manifest.baseUrl).toBe("https://updates.example.org/ext/");
      expect(manifest.base).toEqual({ id: "testos", versionId: "3815.2.0" });
      expect(manifest.extensions[0]!.release).toMatchObject({ ARCHITECTURE: arch, SYSEXT_VERSION_ID: "2.0" });
      expect(manifest.extensions[0]!.payloads.map((p) => p.kind)).toEqual(["crau", "zst"]);
      // sysupdate fetches from the base URL unless sysupdateUrl says otherwise.
      const source = await readFile(join(rel, "greet.source.conf"), "utf8");
      expect(source).toMatch(/^Path=https:\/\/updates\.example\.org\/ext\/$/m);
      const message = await execa("unsquashfs", ["-cat", join(rel, image), "usr/share/greet/message"]);
      expect(message.stdout).toBe(`Howdy from testos on ${arch}`);
      const sums = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: rel, reject: false });
      expect(sums.exitCode, sums.stdout + sums.stderr).toBe(0);
      const v = await cli(["verify", rel, "--key", key.pub, "--json"]);
      expect(v.exitCode, v.stdout).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, failures: [] });
    }
  });

  it("command-line flags override the spec (--arch, --var)", async () => {
    const spec = await specFile("release2.yaml", RELEASE);
    const out = join(dir, "out2");
    const r = await cli([
      "release",
      spec,
      "--arch",
      "arm64",
      "--var",
      "greeting=Hi",
      "--key",
      key.priv,
      "--out",
      out,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readdir(out)).toEqual(["arm64"]);
    const image = join(out, "arm64", "greet-3815.2.0-2.0-arm64.raw");
    const message = await execa("unsquashfs", ["-cat", image, "usr/share/greet/message"]);
    expect(message.stdout).toBe("Hi from testos on arm64");
  });

  it("refuses when one architecture's directory holds another release, writing no architecture", async () => {
    const spec = await specFile("release3.yaml", RELEASE);
    const out = join(dir, "out3");
    await mkdir(join(out, "arm64"), { recursive: true });
    const other = await readFile(join(dir, "out", "x86-64", "manifest.json"));
    await writeFile(join(out, "arm64", "manifest.json"), other);
    const r = await cli(["release", spec, "--key", key.priv, "--out", out]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/arm64 already holds a different release/);
    expect((await readdir(out)).sort()).toEqual(["arm64"]);
    expect(await readdir(join(out, "arm64"))).toEqual(["manifest.json"]);
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      "an unknown field",
      "base: ./os-release\narchs: [x86-64]\n",
      /bad-0\.yaml:2:\d+ \(field archs\): archs: unknown field 'archs'/,
    ],
    [
      "a wrong architecture name",
      "base: ./os-release\narchitectures:\n  - x86_65\n",
      /bad-1\.yaml:3:\d+ \(field architectures\[0\]\)/,
    ],
    ["a wrong type", "base: ./os-release\ncompressed: zst\n", /bad-2\.yaml:2:\d+ \(field compressed\)/],
    ["malformed YAML", "base: [oops\n", /bad-3\.yaml:\d+:\d+: malformed YAML/],
    [
      "a missing extension",
      "base: ./os-release\nextensions:\n  - ./nowhere\n",
      /bad-4\.yaml \(field extensions\[0\]\): extension \.\/nowhere not found/,
    ],
  ];

  it.each(bad.map((b, i) => [...b, i] as const))(
    "refuses %s: exit 1, file/line/field, hint, nothing written",
    async (_l, text, re, i) => {
      const spec = await specFile(`bad-${i}.yaml`, text);
      const out = join(dir, `bad-out-${i}`);
      const r = await cli(["release", spec, "--key", key.priv, "--out", out]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toMatch(/hint: /);
      await expect(readdir(out)).rejects.toThrow();
      const j = await cli(["release", spec, "--key", key.priv, "--out", out, "--json"]);
      expect(j.exitCode).toBe(1);
      const err = (
        JSON.parse(j.stdout) as { error: { code: string; location: { file: string }; hint: string } }
      ).error;
      expect(err.location.file).toBe(spec);
      expect(err.hint).toBeTruthy();
    },
  );
});

describe("--json errors", () => {
  it("prints a JSON error object for usage errors (exit 2) and failed operations (exit 1)", async () => {
    const usage = await cli(["payload", "x.raw", "--no-such-flag", "--json"]);
    expect(usage.exitCode).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({
      error: { code: "USAGE", message: expect.stringMatching(/no-such-flag/) },
    });
    const noOut = await cli(["release", "--json"]);
    expect(noOut.exitCode).toBe(2);
    expect(JSON.parse(noOut.stdout)).toMatchObject({ error: { code: "USAGE", hint: expect.any(String) } });
    const missing = await cli(["verify", "/nonexistent/payload.gz", "--json"]);
    expect(missing.exitCode).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      error: { code: "VERIFY_FAILED", location: { file: "/nonexistent/payload.gz" } },
    });
    const schema = await cli(["schema", "--json"]);
    expect(schema.exitCode).toBe(0);
    expect(JSON.parse(schema.stdout)).toHaveProperty("properties.name");
  });
});
