// Tests of the .deb source: packages built here with dpkg-deb and with tar+ar, read back into a tree.
import { execa } from "execa";
import { chmod, mkdir, mkdtemp, open, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import type { Finding } from "../../src/checks/finding.js";
import { SysextError } from "../../src/errors.js";
import { sourceSchema, type SourceSpec } from "../../src/spec/schema.js";
import { compareDebVersions, stripEpoch } from "../../src/tree/deb/version.js";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { addDebSource } from "../../src/tree/sources/deb.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import type { TreeEntry } from "../../src/tree/types.js";
import { haveTools } from "../helpers/tools.js";

interface DebDef {
  package: string;
  version: string;
  arch?: string;
  fields?: Record<string, string>;
  files?: Record<string, string | { content: string; mode: number }>;
  symlinks?: Record<string, string>;
  scripts?: Record<string, string>;
  conffiles?: string[];
}

let tmp: string;
const tools = await haveTools("dpkg-deb", "ar", "tar", "xz", "zstd", "gzip", "bzip2");
const dpkg = await haveTools("dpkg");

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

/** Build with the independent tool: dpkg-deb --build. */
async function buildWithDpkg(def: DebDef, outDir: string, compression = "xz"): Promise<string> {
  const work = await mkdtemp(join(tmp, "dpkg-"));
  const { control, data } = await stage(def, work);
  await execa("mv", [control, join(data, "DEBIAN")]);
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, `${def.package}_${def.version.replace(":", "%3a")}_${def.arch ?? "amd64"}.deb`);
  await execa("dpkg-deb", ["--root-owner-group", `-Z${compression}`, "--build", data, out]);
  return out;
}

const COMPRESS: Record<string, string[] | undefined> = {
  gz: ["gzip", "-9n"],
  xz: ["xz"],
  zst: ["zstd", "-q", "--rm"],
  bz2: ["bzip2"],
  "": undefined,
};

/** Assemble by hand: tar both parts, compress, and put them into an ar container. */
async function buildWithAr(
  def: DebDef,
  outFile: string,
  controlExt: string,
  dataExt: string,
): Promise<string> {
  const work = await mkdtemp(join(tmp, "ar-"));
  const { control, data } = await stage(def, work);
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
  await mkdir(dirname(outFile), { recursive: true });
  await execa("ar", ["rcD", outFile, ...members], { cwd: work });
  return outFile;
}

async function makeCtx(
  baseRoot?: { status?: string; mergedSbin?: boolean },
  findings: Finding[] = [],
): Promise<SourceContext> {
  const root = await mkdtemp(join(tmp, "base-"));
  await mkdir(join(root, "usr/lib"), { recursive: true });
  await writeFile(join(root, "usr/lib/os-release"), "ID=debian\nVERSION_ID=12\n");
  if (baseRoot?.status !== undefined) {
    await mkdir(join(root, "var/lib/dpkg"), { recursive: true });
    await writeFile(join(root, "var/lib/dpkg/status"), baseRoot.status);
  }
  const base = baseRoot
    ? await readBase({ path: root, arch: "x86-64" })
    : await readBase({ values: { ID: "debian", VERSION_ID: "12" }, arch: "x86-64" });
  return {
    specDir: tmp,
    templatesDir: join(tmp, "templates"),
    vars: {},
    base,
    arch: "x86-64",
    workDir: join(tmp, "work"),
    epoch: 0,
    findings,
  };
}

const deb = (over: Record<string, unknown>) =>
  sourceSchema.parse({ type: "deb", ...over }) as Extract<SourceSpec, { type: "deb" }>;

async function contentOf(e: TreeEntry | undefined): Promise<string> {
  if (e?.type !== "file") throw new Error(`not a file: ${JSON.stringify(e)}`);
  if (e.content.kind === "bytes") return Buffer.from(e.content.data).toString();
  const fh = await open(e.content.path, "r");
  try {
    const buf = Buffer.alloc(e.content.size);
    await fh.read(buf, 0, e.content.size, e.content.offset);
    return buf.toString();
  } finally {
    await fh.close();
  }
}

async function expectError(p: Promise<unknown>, code: string): Promise<SysextError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SysextError);
  expect((e as SysextError).code).toBe(code);
  return e as SysextError;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-deb-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const HELLO: DebDef = {
  package: "hello",
  version: "1:2.3-1",
  files: {
    "usr/bin/hello": { content: "#!/bin/sh\necho hello\n", mode: 0o755 },
    "usr/share/doc/hello/README": "read me\n",
    "etc/hello.conf": "greeting=hi\n",
    "lib/systemd/system/hello.service": "[Service]\nExecStart=/usr/bin/hello\n",
  },
  symlinks: { "usr/bin/hi": "hello" },
  conffiles: ["/etc/hello.conf"],
  scripts: {
    postinst: [
      "#!/bin/sh",
      "set -e",
      'if [ "$1" = "configure" ]; then',
      "  deb-systemd-helper unmask 'hello.service' >/dev/null || true",
      "  if deb-systemd-helper --quiet was-enabled 'hello.service'; then",
      "    deb-systemd-helper enable 'hello.service' >/dev/null || true",
      "  fi",
      "  adduser --system --group --home /var/lib/hello hello",
      "  update-alternatives --install /usr/bin/greet greet /usr/bin/hello 50",
      "  systemctl enable hello-extra.timer",
      "fi",
      "",
    ].join("\n"),
    prerm: "#!/bin/sh\ndpkg-divert --package hello --rename --add /usr/bin/greeter\n",
  },
};

describe.skipIf(!tools)("deb source", () => {
  it("extracts a dpkg-deb built package: files, modes, symlinks, version without epoch, findings", async () => {
    const file = await buildWithDpkg(HELLO, join(tmp, "debs1"));
    const ctx = await makeCtx();
    const b = new TreeBuilder();
    const r = await addDebSource(b, deb({ packages: [file] }), ctx);
    expect(r.version).toBe("2.3-1");
    expect(r.entries).toBeGreaterThan(5);
    const bin = b.get("usr/bin/hello");
    expect(bin?.type).toBe("file");
    expect(bin?.mode).toBe(0o755);
    expect(await contentOf(bin)).toBe("#!/bin/sh\necho hello\n");
    expect(b.get("usr/share/doc/hello/README")?.mode).toBe(0o644);
    expect(b.get("usr/bin/hi")).toMatchObject({ type: "symlink", target: "hello" });
    expect(b.get("usr/bin/hello")?.origin).toBe("deb hello_1:2.3-1_amd64");
    expect(await contentOf(b.get("lib/systemd/system/hello.service"))).toContain("ExecStart=/usr/bin/hello");

    const scripts = ctx.findings.filter((f) => f.code === "maintainer-script");
    const enable = scripts.find((f) => f.message.includes("would enable"));
    expect(enable?.message).toContain("hello.service");
    expect(enable?.message).toContain("hello-extra.timer");
    expect(enable?.hint).toContain("services.upholds");
    expect(
      scripts.some(
        (f) =>
          f.message.includes("users or groups") &&
          f.message.includes("adduser --system --group --home /var/lib/hello hello"),
      ),
    ).toBe(true);
    expect(scripts.some((f) => f.message.includes("/usr/bin/greet -> /usr/bin/hello"))).toBe(true);
    expect(scripts.some((f) => f.message.includes("prerm") && f.message.includes("divert"))).toBe(true);
    expect(ctx.findings.find((f) => f.code === "deb-conffiles")?.message).toContain("/etc/hello.conf");
    // No root directory for the base: the dependency check is skipped with an info finding.
    expect(ctx.findings.find((f) => f.code === "deb-dependencies")?.severity).toBe("info");
  });

  for (const [controlExt, dataExt] of [
    ["xz", "zst"],
    ["gz", "bz2"],
    ["zst", "xz"],
    ["", ""],
  ] as const) {
    it(`reads a hand-assembled ar package (control.tar${controlExt && `.${controlExt}`}, data.tar${dataExt && `.${dataExt}`})`, async () => {
      const file = await buildWithAr(
        {
          package: "tool",
          version: "0.5~rc1-2",
          arch: "all",
          files: { "usr/lib/tool/x": "x\n", "usr/lib/tool/run": { content: "run\n", mode: 0o750 } },
          symlinks: { "usr/bin/tool": "/usr/lib/tool/run" },
          scripts: { postinst: "#!/bin/sh\nldconfig\n" },
        },
        join(tmp, `ar-${controlExt}-${dataExt}`, "tool.deb"),
        controlExt,
        dataExt,
      );
      const ctx = await makeCtx();
      const b = new TreeBuilder();
      const r = await addDebSource(b, deb({ packages: [file] }), ctx);
      expect(r.version).toBe("0.5~rc1-2");
      expect(await contentOf(b.get("usr/lib/tool/x"))).toBe("x\n");
      expect(b.get("usr/lib/tool/run")?.mode).toBe(0o750);
      expect(b.get("usr/bin/tool")).toMatchObject({ type: "symlink", target: "/usr/lib/tool/run" });
      expect(ctx.findings.some((f) => f.code === "maintainer-script" && f.message.includes("ldconfig"))).toBe(
        true,
      );
    });
  }

  it("honours exclude and resolves names in dir (newest version, arch or all)", async () => {
    const dir = join(tmp, "pool");
    await buildWithDpkg(
      { package: "multi", version: "1.0~rc1-1", files: { "usr/share/multi/v": "rc1\n" } },
      dir,
    );
    await buildWithDpkg(
      {
        package: "multi",
        version: "1.0-1",
        files: { "usr/share/multi/v": "final\n", "usr/share/multi/skip/me": "x" },
      },
      dir,
    );
    await buildWithDpkg(
      { package: "multi", version: "9.0-1", arch: "arm64", files: { "usr/share/multi/v": "arm\n" } },
      dir,
    );
    await buildWithDpkg(
      { package: "multi-data", version: "2:0.1", arch: "all", files: { "usr/share/multi/data": "d\n" } },
      dir,
    );
    const ctx = await makeCtx();
    const b = new TreeBuilder();
    const r = await addDebSource(
      b,
      deb({
        packages: ["multi-data", "multi"],
        dir: "pool",
        versionFrom: "multi",
        exclude: ["usr/share/multi/skip"],
      }),
      ctx,
    );
    expect(r.version).toBe("1.0-1");
    expect(await contentOf(b.get("usr/share/multi/v"))).toBe("final\n");
    expect(b.has("usr/share/multi/data")).toBe(true);
    expect(b.has("usr/share/multi/skip/me")).toBe(false);

    const e = await expectError(
      addDebSource(new TreeBuilder(), deb({ packages: ["nope"], dir: "pool" }), await makeCtx()),
      "PACKAGE_INVALID",
    );
    expect(e.message).toContain(join(tmp, "pool"));
    expect(e.message).toContain("multi_1.0-1_amd64.deb");
  });

  it("refuses a package of the wrong architecture (PACKAGE_ARCH)", async () => {
    const file = await buildWithDpkg(
      { package: "armonly", version: "1.0", arch: "arm64", files: { "usr/bin/a": "a" } },
      join(tmp, "arm"),
    );
    const e = await expectError(
      addDebSource(new TreeBuilder(), deb({ packages: [file] }), await makeCtx()),
      "PACKAGE_ARCH",
    );
    expect(e.message).toContain("armonly");
    expect(e.message).toContain("arm64");
    expect(e.message).toContain("x86-64");
    expect(e.hint).toContain("amd64");
    // Resolution by name finds only the arm64 build and reports the mismatch too.
    await expectError(
      addDebSource(new TreeBuilder(), deb({ packages: ["armonly"], dir: "arm" }), await makeCtx()),
      "PACKAGE_ARCH",
    );
  });

  it("refuses corrupt packages (PACKAGE_INVALID naming the file)", async () => {
    const good = await buildWithDpkg(
      { package: "c", version: "1", files: { "usr/share/c/big": "0123456789".repeat(5000) } },
      join(tmp, "corrupt"),
      "gzip",
    );
    const bytes = await readFile(good);
    const cases: Record<string, Buffer> = {
      "truncated.deb": bytes.subarray(0, Math.floor(bytes.length * 0.7)),
      "badmagic.deb": Buffer.concat([Buffer.from("!<arcx>\n"), bytes.subarray(8)]),
      "empty.deb": Buffer.alloc(0),
      // Valid container, garbage inside data.tar.gz (same size).
      "garbage.deb": Buffer.concat([bytes.subarray(0, bytes.length - 2000), Buffer.alloc(2000, 0x41)]),
    };
    for (const [name, data] of Object.entries(cases)) {
      const file = join(tmp, "corrupt", name);
      await writeFile(file, data);
      const e = await expectError(
        addDebSource(new TreeBuilder(), deb({ packages: [file] }), await makeCtx()),
        "PACKAGE_INVALID",
      );
      expect(e.message).toContain(file);
    }
    const file = join(tmp, "corrupt", "cut-member.deb");
    await writeFile(file, bytes);
    await truncate(file, 100);
    await expectError(
      addDebSource(new TreeBuilder(), deb({ packages: [file] }), await makeCtx()),
      "PACKAGE_INVALID",
    );
  });
});

const STATUS = [
  "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\nProvides: libc6-any (= 2.36)\n",
  "Package: python3\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 3.11.2-1+b1\n",
  "Package: exim4-daemon-light\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.96-15\nProvides: mail-transport-agent\n",
  "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\nDescription: compression\n multi-line\n",
  "Package: perl-base\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 5.36.0-7\n",
].join("\n");

describe.skipIf(!tools)("deb dependency check against the base's dpkg status", () => {
  const dir = () => join(tmp, "deps");
  beforeAll(async () => {
    if (!tools) return;
    const mk = (d: DebDef) => buildWithDpkg(d, dir());
    await mk({
      package: "agent",
      version: "3.0-1",
      fields: {
        "Pre-Depends": "libc6 (>= 2.34)",
        Depends:
          "zlib1g (>= 1:1.2.0), perl-base, libc6-any (>= 2.30), python3 (>= 3.11), mail-transport-agent | default-mta, libssl3 (>= 3.0.0), helper:any (>= 2), libc6 (>> 2.37) | libc6-compat",
      },
      files: { "usr/bin/agent": "a" },
    });
    await mk({
      package: "python3-full",
      version: "3.11.2-6",
      fields: { Provides: "python3 (= 3.11.2-6)" },
      files: { "usr/bin/python3": "p" },
    });
    await mk({
      package: "libssl3",
      version: "3.0.11-1~deb12u2",
      files: { "usr/lib/x86_64-linux-gnu/libssl.so.3": "s" },
    });
    await mk({
      package: "helper",
      version: "2.1",
      arch: "all",
      fields: { Provides: "libc6-compat" },
      files: { "usr/bin/helper": "h" },
    });
    await mk({
      package: "libssl-old",
      version: "1.1",
      fields: { Provides: "libssl3" },
      files: { "usr/lib/old": "o" },
    });
  });

  it("lists every unmet dependency with its constraint (PACKAGE_DEPENDS)", async () => {
    const e = await expectError(
      addDebSource(
        new TreeBuilder(),
        deb({ packages: ["agent"], dir: "deps" }),
        await makeCtx({ status: STATUS }),
      ),
      "PACKAGE_DEPENDS",
    );
    const missing = (e.details as Array<{ package: string; dependency: string }>)
      .map((m) => m.dependency)
      .sort();
    expect(missing).toEqual([
      "helper:any (>= 2)",
      "libc6 (>> 2.37) | libc6-compat",
      "libssl3 (>= 3.0.0)",
      "python3 (>= 3.11)",
    ]);
    expect(e.message).toContain("agent: Depends python3 (>= 3.11)");
    expect(e.hint).toContain("skipDependencyCheck");
  });

  it("an unversioned Provides does not satisfy a versioned dependency", async () => {
    const e = await expectError(
      addDebSource(
        new TreeBuilder(),
        deb({ packages: ["agent", "python3-full", "helper", "libssl-old"], dir: "deps" }),
        await makeCtx({ status: STATUS }),
      ),
      "PACKAGE_DEPENDS",
    );
    expect((e.details as Array<{ dependency: string }>).map((m) => m.dependency)).toEqual([
      "libssl3 (>= 3.0.0)",
    ]);
  });

  it("is satisfied by other packages of the source, versioned Provides, alternatives and earlier deb sources", async () => {
    const ctx = await makeCtx({ status: STATUS });
    const b = new TreeBuilder();
    await addDebSource(b, deb({ packages: ["libssl3"], dir: "deps" }), ctx);
    const r = await addDebSource(b, deb({ packages: ["agent", "python3-full", "helper"], dir: "deps" }), ctx);
    expect(r.version).toBe("3.0-1");
    expect(b.has("usr/bin/agent")).toBe(true);
    expect(ctx.findings.some((f) => f.code === "deb-dependencies")).toBe(false);
  });

  it("skipDependencyCheck skips it; a base root without dpkg status gives a warning", async () => {
    await addDebSource(
      new TreeBuilder(),
      deb({ packages: ["agent"], dir: "deps", skipDependencyCheck: true }),
      await makeCtx({ status: STATUS }),
    );
    const ctx = await makeCtx({});
    await addDebSource(new TreeBuilder(), deb({ packages: ["agent"], dir: "deps" }), ctx);
    expect(ctx.findings.find((f) => f.code === "deb-dependencies")?.severity).toBe("warning");
  });
});

describe("dpkg version comparison (checked against dpkg --compare-versions when present)", () => {
  const table: Array<[string, "<" | "=" | ">", string]> = [
    ["1.0~rc1", "<", "1.0"],
    ["1:0.9", ">", "2.0"],
    ["1.0-1", "<", "1.0-1+b1"],
    ["1.0", "=", "1.0-0"],
    ["0:1.0", "=", "1.0"],
    ["1.0~~", "<", "1.0~"],
    ["1.0~", "<", "1.0"],
    ["1.0", "<", "1.0a"],
    ["1.0a", "<", "1.0+"],
    ["1.0.1", ">", "1.0"],
    ["1.10", ">", "1.9"],
    ["1.001", "=", "1.1"],
    ["2.36-9+deb12u4", ">", "2.36-9"],
    ["3.0.11-1~deb12u2", "<", "3.0.11-1"],
    ["1:1.2.13.dfsg-1", ">", "1.2.14"],
    ["2:12.2.0-1", ">", "1:99"],
    ["1.2-3", "<", "1.2-10"],
    ["a", "<", "b"],
  ];
  for (const [a, rel, b] of table) {
    it(`${a} ${rel} ${b}`, async () => {
      const want = rel === "<" ? -1 : rel === ">" ? 1 : 0;
      expect(compareDebVersions(a, b)).toBe(want);
      expect(compareDebVersions(b, a)).toBe(want === 0 ? 0 : -want);
      if (dpkg)
        expect(
          (
            await execa("dpkg", ["--compare-versions", a, { "<": "lt", ">": "gt", "=": "eq" }[rel], b], {
              reject: false,
            })
          ).exitCode,
        ).toBe(0);
    });
  }
  it("strips the epoch only", () => {
    expect(stripEpoch("2:12.2.0-1+deb12u2")).toBe("12.2.0-1+deb12u2");
    expect(stripEpoch("1.0~rc1-1")).toBe("1.0~rc1-1");
  });
});
