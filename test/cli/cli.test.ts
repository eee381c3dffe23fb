// The CLI as a user runs it: build/inspect/check output, JSON, exit codes, bad input, reproducibility.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/index.js";
import { cli, helloBuildArgs, REPO } from "../helpers/cli.js";
import { needTools } from "../helpers/tools.js";

let dir: string;
let base: string;
const arch = hostArch();

beforeAll(async () => {
  await needTools("mksquashfs", "unsquashfs");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-cli-"));
  base = join(dir, "os-release");
  await writeFile(base, 'ID=testos\nVERSION_ID="1.2.3"\n');
});

const sha256 = async (f: string) =>
  createHash("sha256")
    .update(await readFile(f))
    .digest("hex");

async function tarFile(
  name: string,
  entries: Array<{ name: string; type?: "file" | "symlink" | "link"; linkname?: string; body?: string }>,
) {
  const p = pack();
  for (const e of entries) {
    if (e.type === "symlink" || e.type === "link")
      p.entry({ name: e.name, type: e.type, linkname: e.linkname! });
    else p.entry({ name: e.name, mode: 0o644 }, e.body ?? "x");
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const file = join(dir, name);
  await writeFile(file, Buffer.concat(chunks));
  return file;
}

describe("sysextkit CLI", () => {
  it("prints help and exits 0", async () => {
    const r = await cli(["--help"]);
    expect(r.exitCode).toBe(0);
    for (const cmd of ["build", "inspect", "check", "init"]) expect(r.stdout).toContain(cmd);
  });

  it("exits 2 on a usage error", async () => {
    const r = await cli(["build", "--no-such-flag"]);
    expect(r.exitCode).toBe(2);
    const r2 = await cli(["build", "--name", "x", "--dir", dir]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain("--base");
  });

  it("builds with --json and reports name, image, format, size, sha256, release, findings", async () => {
    const out = join(dir, "json-out");
    const r = await cli(helloBuildArgs({ base, arch, out }, "--json"));
    expect(r.exitCode, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j.name).toBe("hello");
    expect(j.image).toBe(join(out, "hello.raw"));
    expect(j.format).toBe("squashfs");
    expect(j.sha256).toBe(await sha256(join(out, "hello.raw")));
    expect(j.size).toBe((await readFile(join(out, "hello.raw"))).length);
    expect(j.release).toMatchObject({ ID: "testos", VERSION_ID: "1.2.3", ARCHITECTURE: arch });
    expect(Array.isArray(j.findings)).toBe(true);

    const ins = await cli(["inspect", join(out, "hello.raw"), "--json"]);
    expect(ins.exitCode, ins.stderr).toBe(0);
    const info = JSON.parse(ins.stdout) as {
      format: string;
      release: Record<string, string>;
      files: Array<{ path: string }>;
    };
    expect(info.format).toBe("squashfs");
    expect(info.release.VERSION_ID).toBe("1.2.3");
    expect(info.files.map((f) => f.path)).toContain("usr/bin/hello");

    const yes = await cli([
      "check",
      join(out, "hello.raw"),
      "--host",
      base,
      "--arch",
      arch,
      "--systemd",
      "252",
    ]);
    expect(yes.exitCode, yes.stdout + yes.stderr).toBe(0);
    const otherBase = join(dir, "os-release-other");
    await writeFile(otherBase, "ID=testos\nVERSION_ID=1.2.4\n");
    const no = await cli([
      "check",
      join(out, "hello.raw"),
      "--host",
      otherBase,
      "--arch",
      arch,
      "--systemd",
      "252",
    ]);
    expect(no.exitCode).toBe(1);
    expect(no.stdout).toMatch(/VERSION_ID/);
  });

  it("builds without a spec from --name and --dir", async () => {
    const src = join(dir, "quick");
    await mkdir(join(src, "usr/share/quick"), { recursive: true });
    await writeFile(join(src, "usr/share/quick/data"), "quick\n");
    const r = await cli([
      "build",
      "--name",
      "quick",
      "--dir",
      src,
      "--base",
      base,
      "--arch",
      arch,
      "--out",
      join(dir, "quick-out"),
      "--json",
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { release: Record<string, string> }).release.ID).toBe("testos");
  });

  it("is byte-identical across mtimes, umask, cwd and time zone", async () => {
    const src = join(dir, "repro");
    await mkdir(join(src, "usr/share/repro"), { recursive: true });
    await writeFile(join(src, "usr/share/repro/a"), "alpha\n");
    await writeFile(join(src, "usr/share/repro/b"), "beta\n");
    const args = (out: string) => [
      "build",
      "--name",
      "repro",
      "--dir",
      src,
      "--base",
      base,
      "--arch",
      arch,
      "--out",
      out,
    ];
    const r1 = await cli(args(join(dir, "r1")), { cwd: REPO, env: { TZ: "UTC" }, umask: 0o022 });
    expect(r1.exitCode, r1.stderr).toBe(0);
    await utimes(join(src, "usr/share/repro/a"), 1000, 1000);
    await utimes(join(src, "usr/share/repro"), 5000, 5000);
    const r2 = await cli(args(join(dir, "r2")), { cwd: tmpdir(), env: { TZ: "Asia/Tokyo" }, umask: 0o077 });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(await sha256(join(dir, "r1/repro.raw"))).toBe(await sha256(join(dir, "r2/repro.raw")));
    const withEpoch = await cli(args(join(dir, "r3")), { env: { SOURCE_DATE_EPOCH: "1700000000" } });
    expect(withEpoch.exitCode, withEpoch.stderr).toBe(0);
    expect(await sha256(join(dir, "r3/repro.raw"))).not.toBe(await sha256(join(dir, "r1/repro.raw")));
  });

  it("scaffolds a new extension with init that then builds", async () => {
    const parent = join(dir, "exts");
    const r = await cli(["init", "oem-example", "--dir", parent]);
    expect(r.exitCode, r.stderr).toBe(0);
    const b = await cli([
      "build",
      join(parent, "oem-example/extension.yaml"),
      "--base",
      base,
      "--arch",
      arch,
      "--out",
      join(dir, "init-out"),
      "--json",
    ]);
    expect(b.exitCode, b.stderr).toBe(0);
    const again = await cli(["init", "oem-example", "--dir", parent]);
    expect(again.exitCode).toBe(1);
  });
});

describe("bad input gives a clear error, exit 1 and no output file", () => {
  const cases: Array<[string, () => Promise<{ args: string[]; expect: RegExp }>]> = [
    [
      "malformed YAML",
      async () => ({
        args: [await specFile("bad.yaml", "name: [oops\n")],
        expect: /bad\.yaml:\d+.*malformed YAML/,
      }),
    ],
    [
      "an unknown key",
      async () => ({
        args: [await specFile("unknown.yaml", "name: x\nsourcez: []\n")],
        expect: /unknown\.yaml:2.*sourcez/,
      }),
    ],
    [
      "a wrong type",
      async () => ({
        args: [await specFile("type.yaml", "name: x\nsources: 5\n")],
        expect: /type\.yaml:2.*sources/,
      }),
    ],
    [
      "a base without VERSION_ID",
      async () => {
        const b = join(dir, "noversion");
        await writeFile(b, "ID=testos\n");
        return {
          args: ["--name", "x", "--dir", await tree("nv", { "usr/share/x": "x" }), "--base-override", b],
          expect: /VERSION_ID/,
        };
      },
    ],
    [
      "an archive member with ../",
      async () => ({
        args: ["--name", "x", "--tar", await tarFile("dotdot.tar", [{ name: "usr/../../evil" }])],
        expect: /dotdot\.tar.*\.\./,
      }),
    ],
    [
      "an absolute archive member",
      async () => ({
        args: ["--name", "x", "--tar", await tarFile("abs.tar", [{ name: "/etc/passwd" }])],
        expect: /abs\.tar.*absolute/,
      }),
    ],
    [
      "a link pointing outside",
      async () => ({
        args: [
          "--name",
          "x",
          "--tar",
          await tarFile("link.tar", [
            { name: "usr/x", type: "symlink", linkname: "../../../etc" },
            { name: "usr/share/y" },
          ]),
        ],
        expect: /outside/,
      }),
    ],
    [
      "writing through a symlink",
      async () => ({
        args: [
          "--name",
          "x",
          "--tar",
          await tarFile("through.tar", [
            { name: "usr/x", type: "symlink", linkname: "/etc" },
            { name: "usr/x/passwd" },
          ]),
        ],
        expect: /through symlink/,
      }),
    ],
    [
      "usr/lib/os-release",
      async () => ({
        args: ["--name", "x", "--dir", await tree("osr", { "usr/lib/os-release": "ID=x\n" })],
        expect: /os-release/,
      }),
    ],
    [
      "files under etc/",
      async () => ({
        args: ["--name", "x", "--dir", await tree("etc", { "etc/foo.conf": "x", "usr/share/x": "x" })],
        expect: /etc.*(usr\/|opt)/,
      }),
    ],
  ];

  it.each(cases)("%s", async (_label, make) => {
    const c = await make();
    const out = join(dir, `bad-${Math.random().toString(16).slice(2)}`);
    let args = c.args;
    let baseArg = base;
    const i = args.indexOf("--base-override");
    if (i >= 0) {
      baseArg = args[i + 1]!;
      args = args.slice(0, i);
    }
    const r = await cli(["build", ...args, "--base", baseArg, "--arch", arch, "--out", out]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(c.expect);
    expect(r.stderr).toMatch(/hint:/);
    const left = await readdir(out).catch(() => []);
    expect(left).toEqual([]);
  });
});

async function specFile(name: string, text: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, text);
  return f;
}

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, `tree-${name}`);
  for (const [p, body] of Object.entries(files)) {
    await mkdir(join(root, p, ".."), { recursive: true });
    await writeFile(join(root, p), body);
  }
  return root;
}
