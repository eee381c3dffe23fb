// The package as a user gets it: npm pack, install offline from the tarball into an empty project, run the CLI and
// an ESM program (build, inspect, check, payload with a key, verify), README paths and the API snippet as shipped.
import { execa } from "execa";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";
import { installTarballOffline } from "../helpers/npm-project.js";
import { packedTarball } from "../helpers/pack.js";
import { needTools } from "../helpers/tools.js";

let work: string;
let proj: string;
let tarball: string;
let files: string[];
const pkgDir = () => join(proj, "node_modules", "sysextkit");
const run = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [join(pkgDir(), "bin/sysextkit.js"), ...args], { cwd: proj, reject: false, env });

beforeAll(async () => {
  await needTools("mksquashfs", "unsquashfs", "openssl", "bzip2");
  work = await mkdtemp(join(tmpdir(), "sysextkit-npm-"));
  // npm pack runs `prepare` (the build) first, as publishing does.
  tarball = await packedTarball();
  const { stdout } = await execa("tar", ["-tzf", tarball]);
  files = stdout
    .split("\n")
    .filter((l) => l && !l.endsWith("/"))
    .map((l) => l.replace(/^package\//, ""))
    .sort();
  proj = join(work, "proj");
  await mkdir(proj);
  await installTarballOffline(proj, tarball);
  await writeFile(join(proj, "os-release"), "ID=testos\nVERSION_ID=1.2.3\n");
}, 600_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Sections of the README that are about a git checkout: before the first "## ", and headings naming it. */
function packageSections(readme: string): string {
  const parts = readme.split(/^(?=## )/m);
  return parts
    .filter((p) => p.startsWith("## ") && !/checkout|contribut/i.test(p.split("\n")[0]!))
    .join("\n");
}

describe("npm pack", () => {
  it("ships the compiled code, types, LICENSE, schemas, catalog, templates and examples, and no sources", () => {
    for (const f of [
      "LICENSE",
      "README.md",
      "package.json",
      "bin/sysextkit.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "dist/cli/help.txt",
      "schema/extension.schema.json",
      "schema/release.schema.json",
      "extensions/oem-vmware/extension.yaml",
      "templates/units/upholds-dropin.conf.tmpl",
      "examples/hello/extension.yaml",
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^(src|test|scripts|bench)\//.test(f))).toEqual([]);
  });

  // Defect: .js.map files pointed at src/*.ts, which is not shipped.
  it("ships no source map that points at a file it does not ship", async () => {
    const dangling: string[] = [];
    for (const f of files.filter((x) => x.endsWith(".map"))) {
      const map = JSON.parse(await readFile(join(pkgDir(), f), "utf8")) as { sources: string[] };
      for (const s of map.sources) {
        const target = resolve(dirname(join(pkgDir(), f)), s).slice(pkgDir().length + 1);
        if (!files.includes(target)) dangling.push(`${f} -> ${s}`);
      }
    }
    expect(dangling).toEqual([]);
  });

  // Defect: the README pointed at examples/ from a package that did not ship it.
  it("every repository path the README names outside its checkout sections is in the package", async () => {
    const readme = await readFile(join(pkgDir(), "README.md"), "utf8");
    const paths = new Set<string>();
    for (const m of packageSections(readme).matchAll(
      /(?<![\w./-])((?:examples|extensions|schema|templates|scripts|test|src|bench|docs|dist|bin)\/[\w./-]*[\w/])/g,
    ))
      paths.add(m[1]!);
    // Paths of a user's project (extensions/oem-example/ made by init) are not this repository's.
    const inRepo = [...paths].filter((p) => existsSync(join(REPO, p)));
    expect(inRepo.length).toBeGreaterThan(3);
    const missing = inRepo.filter(
      (p) => !files.some((f) => f === p || f.startsWith(p.endsWith("/") ? p : `${p}/`)),
    );
    expect(missing).toEqual([]);
  });
});

describe("installed from the tarball", () => {
  // Defect: tsx (and esbuild) were runtime dependencies.
  it("has no tsx or esbuild, and stays within the dependency count and size the README states", async () => {
    const ls = await execa("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: proj });
    const installed = ls.stdout.split("\n").filter((l) => l.includes("node_modules"));
    expect(installed.filter((l) => /node_modules\/(tsx|esbuild|@esbuild)/.test(l))).toEqual([]);
    const du = await execa("du", ["-sk", join(proj, "node_modules")]);
    const mb = Number(du.stdout.split("\t")[0]) / 1024;
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const m = /adds at most (\d+) packages and (\d+) MB/.exec(readme);
    expect(m, "the README states the installed size").not.toBeNull();
    expect(installed.length).toBeLessThanOrEqual(Number(m![1]));
    expect(mb).toBeLessThanOrEqual(Number(m![2]));
  });

  it("runs the CLI: --version, --help, a catalog entry by name, init with a working $schema", async () => {
    const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
    expect((await run(["--version"])).stdout.trim()).toBe(pkg.version);
    const help = await run(["--help"]);
    for (const c of ["build", "inspect", "check", "payload", "release", "verify", "init", "schema"])
      expect(help.stdout).toContain(c);
    const b = await run([
      "build",
      "oem-qemu",
      "--base",
      "os-release",
      "--sysext-version",
      "1.0",
      "--out",
      "out",
    ]);
    expect(b.exitCode, b.stderr).toBe(0);
    const c = await run(["check", "out/oem-qemu.raw", "--host", "os-release", "--systemd", "252"]);
    expect(c.exitCode, c.stdout).toBe(0);
    const init = await run(["init", "oem-mine", "--dir", "extensions"]);
    expect(init.exitCode, init.stderr).toBe(0);
    const spec = await readFile(join(proj, "extensions/oem-mine/extension.yaml"), "utf8");
    const ref = /\$schema=(\S+)/.exec(spec)![1]!;
    expect(resolve(proj, "extensions/oem-mine", ref)).toBe(join(pkgDir(), "schema/extension.schema.json"));
    const built = await run([
      "build",
      "extensions/oem-mine/extension.yaml",
      "--base",
      "os-release",
      "--out",
      "out",
    ]);
    expect(built.exitCode, built.stderr).toBe(0);
  });

  // bin/ prints `--help` from dist/cli/help.txt (written by the build) without loading the CLI: it must be what
  // commander prints, through main() and through `sysextkit help`, or it has gone stale.
  it("prints the same --help from bin's fast path as from commander", async () => {
    const opts = { cwd: proj, stripFinalNewline: false } as const;
    const fast = await execa(process.execPath, [join(pkgDir(), "bin/sysextkit.js"), "--help"], opts);
    const mainJs = pathToFileURL(join(pkgDir(), "dist/cli/main.js")).href;
    const viaMain = await execa(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { main } = await import(${JSON.stringify(mainJs)}); process.exitCode = await main(["node", "sysextkit", "--help"]);`,
      ],
      opts,
    );
    const helpCmd = await execa(process.execPath, [join(pkgDir(), "bin/sysextkit.js"), "help"], opts);
    expect(fast.stdout).toMatch(/^Usage: sysextkit \[options\] \[command\]\n/);
    expect(fast.stdout).toBe(await readFile(join(pkgDir(), "dist/cli/help.txt"), "utf8"));
    expect(viaMain.stdout).toBe(fast.stdout);
    expect(helpCmd.stdout).toBe(fast.stdout);
  });

  it("runs an ESM program that builds, inspects, checks, makes a signed payload and verifies it", async () => {
    await execa("openssl", [
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      join(proj, "key.pem"),
    ]);
    await execa("openssl", ["pkey", "-in", join(proj, "key.pem"), "-pubout", "-out", join(proj, "pub.pem")]);
    await writeFile(
      join(proj, "program.mjs"),
      `import { buildExtension, inspectImage, checkImage, createPayload, verifyPayload, readBase, CATALOG_DIR } from "sysextkit";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
const pkg = join(fileURLToPath(import.meta.resolve("sysextkit")), "..", "..");
const base = await readBase({ path: "os-release", arch: "x86-64" });
const built = await buildExtension({ spec: join(pkg, "examples/hello/extension.yaml"), base, outDir: "esm-out" });
const info = await inspectImage(built.image);
const verdict = await checkImage({ image: built.image, host: base, systemdVersion: 252 });
const payload = await createPayload({ image: built.image, keys: ["key.pem"], outDir: "esm-out" });
const report = await verifyPayload(payload.file, { publicKeys: ["pub.pem"], expectedImage: built.image });
console.log(JSON.stringify({ name: built.name, release: info.release, merges: verdict.merges, payload: payload.file,
  ok: report.ok, catalog: existsSync(join(CATALOG_DIR, "oem-vmware", "extension.yaml")) }));
`,
    );
    const r = await execa(process.execPath, ["program.mjs"], { cwd: proj, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      name: "hello",
      release: expect.objectContaining({ ID: "testos", VERSION_ID: "1.2.3", ARCHITECTURE: "x86-64" }),
      merges: true,
      payload: "esm-out/hello.gz",
      ok: true,
      catalog: true,
    });
  });

  // Defect: the README's API snippet loaded extensions/oem-vmware/extension.yaml, which fails from a package.
  it("runs the README's API snippet as shipped", async () => {
    const readme = await readFile(join(pkgDir(), "README.md"), "utf8");
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("## API")))?.[1];
    expect(snippet).toBeDefined();
    await writeFile(
      join(proj, "snippet.mjs"),
      snippet!.replaceAll("/etc/os-release", join(proj, "os-release")),
    );
    const r = await execa(process.execPath, ["snippet.mjs"], { cwd: proj, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/oem-qemu/);
    expect(await readdir(join(proj, "out"))).toContain("oem-qemu.raw");
  });
});
