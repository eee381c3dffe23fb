// Tests of the .deb source: packages built here with dpkg-deb and with tar+ar, read back into a tree.
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExtension, specFromObject } from "../../src/index.js";
import { addDebSource } from "../../src/tree/sources/deb.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { buildWithAr, buildWithDpkg, type DebDef } from "../helpers/deb.js";
import { rejection } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { debContext, debSource, entryText } from "./source-context.js";

let tmp: string;
await needTools("dpkg-deb", "ar", "tar", "xz", "zstd", "gzip", "bzip2");

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

describe("deb source", () => {
  it("extracts a dpkg-deb built package: files, modes, symlinks, version without epoch, findings", async () => {
    const file = await buildWithDpkg(HELLO, join(tmp, "debs1"));
    const ctx = await debContext(tmp);
    const b = new TreeBuilder();
    const r = await addDebSource(b, debSource({ packages: [file] }), ctx);
    expect(r.version).toBe("2.3-1");
    expect(r.entries).toBeGreaterThan(5);
    const bin = b.get("usr/bin/hello");
    expect(bin?.type).toBe("file");
    expect(bin?.mode).toBe(0o755);
    expect(await entryText(bin)).toBe("#!/bin/sh\necho hello\n");
    expect(b.get("usr/share/doc/hello/README")?.mode).toBe(0o644);
    expect(b.get("usr/bin/hi")).toMatchObject({ type: "symlink", target: "hello" });
    expect(b.get("usr/bin/hello")?.origin).toBe("deb hello_1:2.3-1_amd64");
    expect(await entryText(b.get("lib/systemd/system/hello.service"))).toContain("ExecStart=/usr/bin/hello");

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
      const ctx = await debContext(tmp);
      const b = new TreeBuilder();
      const r = await addDebSource(b, debSource({ packages: [file] }), ctx);
      expect(r.version).toBe("0.5~rc1-2");
      expect(await entryText(b.get("usr/lib/tool/x"))).toBe("x\n");
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
    const ctx = await debContext(tmp);
    const b = new TreeBuilder();
    const r = await addDebSource(
      b,
      debSource({
        packages: ["multi-data", "multi"],
        dir: "pool",
        versionFrom: "multi",
        exclude: ["usr/share/multi/skip"],
      }),
      ctx,
    );
    expect(r.version).toBe("1.0-1");
    expect(await entryText(b.get("usr/share/multi/v"))).toBe("final\n");
    expect(b.has("usr/share/multi/data")).toBe(true);
    expect(b.has("usr/share/multi/skip/me")).toBe(false);

    const e = await rejection(
      addDebSource(new TreeBuilder(), debSource({ packages: ["nope"], dir: "pool" }), await debContext(tmp)),
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
    const e = await rejection(
      addDebSource(new TreeBuilder(), debSource({ packages: [file] }), await debContext(tmp)),
      "PACKAGE_ARCH",
    );
    expect(e.message).toContain("armonly");
    expect(e.message).toContain("arm64");
    expect(e.message).toContain("x86-64");
    expect(e.hint).toContain("amd64");
    // Resolution by name finds only the arm64 build and reports the mismatch too.
    await rejection(
      addDebSource(
        new TreeBuilder(),
        debSource({ packages: ["armonly"], dir: "arm" }),
        await debContext(tmp),
      ),
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
      const e = await rejection(
        addDebSource(new TreeBuilder(), debSource({ packages: [file] }), await debContext(tmp)),
        "PACKAGE_INVALID",
      );
      expect(e.message).toContain(file);
    }
    const file = join(tmp, "corrupt", "cut-member.deb");
    await writeFile(file, bytes);
    await truncate(file, 100);
    await rejection(
      addDebSource(new TreeBuilder(), debSource({ packages: [file] }), await debContext(tmp)),
      "PACKAGE_INVALID",
    );
  });

  it("refuses control fields that would become file names or release lines (PACKAGE_INVALID)", async () => {
    // dpkg-deb refuses to build these; a hand-assembled package can still carry them.
    for (const [label, def] of [
      ["slash", { package: "x/../../../escape", version: "1.0" }],
      ["line break", { package: "multi", version: "1.0\n SYSEXT_LEVEL=2" }],
      ["space in arch", { package: "spaced", version: "1.0", arch: "amd 64" }],
    ] as const) {
      const file = await buildWithAr(
        { ...def, files: { "usr/share/x": "x" } },
        join(tmp, "badcontrol", `${label.replace(/ /g, "-")}.deb`),
        "gz",
        "gz",
      );
      const ctx = await debContext(tmp);
      const e = await rejection(
        addDebSource(new TreeBuilder(), debSource({ packages: [file] }), ctx),
        "PACKAGE_INVALID",
      );
      expect(e.message).toContain(file);
      expect(e.hint).toBeTruthy();
    }
  });

  // Defect: a conffile that a relocate rule had moved was still reported as needing a rule.
  it("reports only the conffiles no relocate, strip or drop rule handled", async () => {
    await needTools("mksquashfs");
    const file = await buildWithDpkg(
      {
        package: "confy",
        version: "1.0",
        files: {
          "usr/bin/confy": { content: "#!/bin/sh\n", mode: 0o755 },
          "etc/confy/main.conf": "a=1\n",
          "etc/confy.d/extra.conf": "b=2\n",
          "etc/default/confy": "X=1\n",
        },
        conffiles: ["/etc/confy/main.conf", "/etc/confy.d/extra.conf", "/etc/default/confy"],
      },
      join(tmp, "conf-debs"),
    );
    const build = (extra: Record<string, unknown>) =>
      buildExtension({
        spec: specFromObject({
          name: "confy",
          sources: [{ type: "deb", dir: ".", packages: [file], skipDependencyCheck: true }],
          ...extra,
        }),
        base: { values: { ID: "debian", VERSION_ID: "12" }, arch: "x86-64" },
        outDir: join(tmp, `conf-out-${Math.random().toString(16).slice(2)}`),
      });
    const all = await build({
      relocate: [{ from: "etc/confy", to: "usr/share/confy/etc", link: "setup-unit" }],
      strip: { paths: ["etc/confy.d/**"] },
      drop: ["etc/default/**"],
    });
    const handled = all.findings.filter((f) => f.code === "deb-conffiles");
    expect(handled).toEqual([
      {
        code: "deb-conffiles",
        severity: "info",
        message:
          "confy's configuration files are moved or left out by the spec's rules: /etc/confy/main.conf, /etc/confy.d/extra.conf, /etc/default/confy",
      },
    ]);
    // One left in etc/: the build fails (outside usr/ and opt/), and the finding names only that one.
    const e = await rejection(
      build({
        relocate: [{ from: "etc/confy", to: "usr/share/confy/etc", link: "setup-unit" }],
        drop: ["etc/default/**"],
      }),
      "CHECK_FAILED",
    );
    const left = (e.details as Array<{ code: string; message: string; hint?: string }>).find(
      (f) => f.code === "deb-conffiles",
    );
    expect(left?.message).toBe(
      "confy has configuration files no relocate, strip or drop rule handles: /etc/confy.d/extra.conf (handled: /etc/confy/main.conf, /etc/default/confy)",
    );
    expect(left?.hint).toMatch(/relocate/);
  });
});
