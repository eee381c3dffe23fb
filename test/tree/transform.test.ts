// Tests of the tree transforms: relocation with a setup unit, strip, /usr and sbin folding, Upholds= drop-in, oem-release.
import { execa } from "execa";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase, type BaseRelease } from "../../src/base/base.js";
import { SysextError } from "../../src/errors.js";
import { extensionSpecSchema, type ExtensionSpecInput } from "../../src/spec/schema.js";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { applyTransforms } from "../../src/tree/transform.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import type { TreeEntry } from "../../src/tree/types.js";
import { parseEnvFile } from "../../src/util/env-file.js";
import { haveTools } from "../helpers/tools.js";

let tmp: string;
let base: BaseRelease;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-transform-"));
  base = await readBase({ values: { ID: "debian", VERSION_ID: "12" }, arch: "x86-64" });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const spec = (over: Partial<ExtensionSpecInput> = {}) =>
  extensionSpecSchema.parse({ name: "oem-test", ...over });
const ctx = (mergedSbin?: boolean): SourceContext & { name: string } => ({
  name: "oem-test",
  specDir: tmp,
  templatesDir: tmp,
  vars: {},
  base: { ...base, mergedSbin },
  arch: "x86-64",
  workDir: tmp,
  epoch: 0,
  findings: [],
});

function tree(files: Record<string, string>, links: Record<string, string> = {}): TreeBuilder {
  const b = new TreeBuilder();
  for (const [path, text] of Object.entries(files)) {
    const data = new TextEncoder().encode(text);
    b.add({
      type: "file",
      path,
      mode: 0o644,
      size: data.length,
      content: { kind: "bytes", data },
      origin: "test",
    });
  }
  for (const [path, target] of Object.entries(links))
    b.add({ type: "symlink", path, target, mode: 0o777, origin: "test" });
  return b;
}

const text = (e: TreeEntry | undefined): string => {
  if (e?.type !== "file" || e.content.kind !== "bytes")
    throw new Error(`not generated: ${JSON.stringify(e)}`);
  return new TextDecoder().decode(e.content.data);
};
const paths = (b: TreeBuilder) => [...b.paths()].sort();
const target = (b: TreeBuilder, p: string) => {
  const e = b.get(p);
  return e?.type === "symlink" ? e.target : `(${e?.type ?? "missing"})`;
};

describe("relocation", () => {
  it("moves paths and globs under usr/, rewrites links into them and generates one setup unit", async () => {
    const b = tree(
      {
        "etc/vmware-tools/tools.conf": "[logging]\n",
        "etc/vmware-tools/scripts/poweron.sh": "#!/bin/sh\n",
        "etc/amazon/ssm/amazon-ssm-agent.json": "{}",
        "etc/amazon/ssm/seelog.xml": "<x/>",
        "usr/bin/vmtoolsd": "bin",
        "usr/lib/systemd/system/vmtoolsd.service": "[Service]\n",
      },
      {
        "usr/bin/tools-conf": "/etc/vmware-tools/tools.conf",
        "usr/share/conf-rel": "../../etc/vmware-tools",
      },
    );
    const s = spec({
      relocate: [
        { from: "/etc/vmware-tools", to: "usr/share/oem/vmware-tools", link: "setup-unit" },
        { from: "etc/amazon/ssm/*", to: "/usr/share/amazon/ssm", link: "setup-unit" },
      ],
      services: { upholds: ["vmtoolsd.service"] },
    });
    const findings = applyTransforms(b, s, ctx());
    expect(paths(b).filter((p) => p.startsWith("etc"))).toEqual([]);
    expect(b.has("usr/share/oem/vmware-tools/scripts/poweron.sh")).toBe(true);
    expect(b.has("usr/share/amazon/ssm/seelog.xml")).toBe(true);
    expect(target(b, "usr/bin/tools-conf")).toBe("/usr/share/oem/vmware-tools/tools.conf");
    expect(target(b, "usr/share/conf-rel")).toBe("oem/vmware-tools");
    const unit = text(b.get("usr/lib/systemd/system/setup-oem-test.service"));
    expect(unit).toContain("Type=oneshot\nRemainAfterExit=yes\n");
    expect(unit).toContain("Before=vmtoolsd.service\n");
    const exec = unit.split("\n").filter((l) => l.startsWith("ExecStart="));
    expect(exec).toEqual([
      "ExecStart=/usr/bin/mkdir -p /etc",
      "ExecStart=/usr/bin/mkdir -p /etc/amazon/ssm",
      "ExecStart=/usr/bin/ln -sfrT /usr/share/oem/vmware-tools /etc/vmware-tools",
      "ExecStart=/usr/bin/ln -sfrT /usr/share/amazon/ssm/amazon-ssm-agent.json /etc/amazon/ssm/amazon-ssm-agent.json",
      "ExecStart=/usr/bin/ln -sfrT /usr/share/amazon/ssm/seelog.xml /etc/amazon/ssm/seelog.xml",
    ]);
    expect(text(b.get("usr/lib/systemd/system/multi-user.target.d/10-oem-test.conf"))).toBe(
      "[Unit]\nUpholds=vmtoolsd.service setup-oem-test.service\n",
    );
    expect(b.get("usr/lib/systemd/system/setup-oem-test.service")).toMatchObject({
      mode: 0o644,
      origin: expect.stringMatching(/^generated: /),
    });
    expect(findings.filter((f) => f.code === "relocate")).toHaveLength(2);

    // The ExecStart lines do what they should: run them against a scratch root.
    const root = await mkdtemp(join(tmp, "root-"));
    await mkdir(join(root, "usr/share/oem/vmware-tools"), { recursive: true });
    await writeFile(join(root, "usr/share/oem/vmware-tools/tools.conf"), "x");
    for (const line of exec.filter((l) => l.includes("vmware") || l.endsWith("/etc"))) {
      const [bin, ...args] = line.slice("ExecStart=".length).split(" ");
      await execa(
        bin!,
        args.map((a) => (a.startsWith("/") ? join(root, a) : a)),
      );
    }
    const { stdout } = await execa("readlink", [join(root, "etc/vmware-tools")]);
    expect(stdout).toBe("../usr/share/oem/vmware-tools");
    expect((await execa("cat", [join(root, "etc/vmware-tools/tools.conf")])).stdout).toBe("x");
  });

  it("the generated unit passes systemd-analyze verify", async () => {
    if (!(await haveTools("systemd-analyze"))) return;
    const b = tree({ "etc/foo/a.conf": "a" });
    applyTransforms(
      b,
      spec({ relocate: [{ from: "etc/foo", to: "usr/share/foo", link: "setup-unit" }] }),
      ctx(),
    );
    const dir = await mkdtemp(join(tmp, "units-"));
    await writeFile(
      join(dir, "setup-oem-test.service"),
      text(b.get("usr/lib/systemd/system/setup-oem-test.service")),
    );
    const r = await execa("systemd-analyze", ["verify", "--man=no", join(dir, "setup-oem-test.service")], {
      reject: false,
    });
    expect(r.stderr).not.toMatch(/setup-oem-test\.service:\d+:/);
    expect(r.exitCode).toBe(0);
  });

  it("refuses a destination outside usr/ and opt/, and warns about rules that match nothing", () => {
    const b = tree({ "etc/foo": "x" });
    let err: unknown;
    try {
      applyTransforms(b, spec({ relocate: [{ from: "etc/foo", to: "var/lib/foo" }] }), ctx());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysextError);
    expect((err as SysextError).code).toBe("SPEC_INVALID");
    expect((err as SysextError).location?.field).toBe("relocate[0].to");
    const f = applyTransforms(
      tree({}),
      spec({ relocate: [{ from: "etc/none", to: "usr/share/none" }] }),
      ctx(),
    );
    expect(f.find((x) => x.code === "relocate-unmatched")?.severity).toBe("warning");
  });

  it("moves units from etc/systemd/system to usr/lib/systemd/system by itself", () => {
    const b = tree({
      "etc/systemd/system/waagent.service": "[Service]\n",
      "etc/systemd/system/waagent.service.d/10-x.conf": "[Service]\n",
    });
    const f = applyTransforms(b, spec(), ctx());
    expect(paths(b)).toEqual([
      "usr",
      "usr/lib",
      "usr/lib/systemd",
      "usr/lib/systemd/system",
      "usr/lib/systemd/system/waagent.service",
      "usr/lib/systemd/system/waagent.service.d",
      "usr/lib/systemd/system/waagent.service.d/10-x.conf",
    ]);
    expect(f.find((x) => x.code === "relocate")?.message).toContain("waagent.service");
  });
});

describe("strip", () => {
  const files = {
    "usr/share/doc/foo/README": "r",
    "usr/share/doc/foo/copyright": "c",
    "usr/share/man/man1/foo.1.gz": "m",
    "usr/share/locale/de/LC_MESSAGES/foo.mo": "l",
    "usr/share/lintian/overrides/foo": "o",
    "usr/include/foo.h": "h",
    "usr/lib/x86_64-linux-gnu/libfoo.a": "a",
    "usr/lib/x86_64-linux-gnu/libfoo.so.1": "so",
    "usr/share/foo/data": "d",
    "usr/share/foo/extra/big": "b",
  };

  it("removes the default set and strip.paths except strip.keep, pruning emptied directories", () => {
    const b = tree(files);
    const f = applyTransforms(
      b,
      spec({ strip: { paths: ["usr/share/foo/extra"], keep: ["usr/share/doc/*/copyright"] } }),
      ctx(),
    );
    expect(paths(b)).toEqual([
      "usr",
      "usr/lib",
      "usr/lib/x86_64-linux-gnu",
      "usr/lib/x86_64-linux-gnu/libfoo.so.1",
      "usr/share",
      "usr/share/doc",
      "usr/share/doc/foo",
      "usr/share/doc/foo/copyright",
      "usr/share/foo",
      "usr/share/foo/data",
    ]);
    const msg = f.find((x) => x.code === "strip")?.message ?? "";
    expect(msg).toContain("usr/share/man/** (3)");
    expect(msg).toContain("**/*.a (1)");
    expect(msg).toContain("usr/share/foo/extra (2)");
  });

  it("strip.defaults: false keeps everything", () => {
    const b = tree(files);
    applyTransforms(b, spec({ strip: { defaults: false } }), ctx());
    expect(paths(b)).toContain("usr/share/man/man1/foo.1.gz");
    expect(paths(b)).toContain("usr/include/foo.h");
  });
});

describe("/usr and sbin folding", () => {
  const input = () =>
    tree(
      {
        "sbin/mount.foo": "m",
        "bin/foo": "f",
        "usr/sbin/foo-daemon": "d",
        "usr/bin/tool": "t",
        "lib/systemd/system/foo.service": "[Service]\n",
        "lib/x86_64-linux-gnu/libfoo.so.1": "so",
      },
      {
        "usr/sbin/foo-alias": "foo-daemon",
        "usr/sbin/tool": "../bin/tool",
        "usr/bin/daemon-link": "../sbin/foo-daemon",
        "usr/lib/mounter": "/sbin/mount.foo",
        "usr/lib/x86_64-linux-gnu/libfoo.so": "../../../lib/x86_64-linux-gnu/libfoo.so.1",
        lib64: "usr/lib64",
      },
    );

  it("merged-sbin base (auto): everything lands in usr/bin and symlinks are repaired", () => {
    const b = input();
    const f = applyTransforms(b, spec(), ctx(true));
    expect(paths(b).filter((p) => !p.startsWith("usr/"))).toEqual(["usr"]);
    expect(b.has("usr/sbin")).toBe(false);
    for (const p of [
      "usr/bin/mount.foo",
      "usr/bin/foo",
      "usr/bin/foo-daemon",
      "usr/lib/systemd/system/foo.service",
    ])
      expect(b.get(p)?.type).toBe("file");
    expect(target(b, "usr/bin/foo-alias")).toBe("foo-daemon");
    expect(target(b, "usr/bin/daemon-link")).toBe("foo-daemon");
    expect(target(b, "usr/lib/mounter")).toBe("/usr/bin/mount.foo");
    expect(target(b, "usr/lib/x86_64-linux-gnu/libfoo.so")).toBe("libfoo.so.1");
    // usr/sbin/tool -> ../bin/tool would point at itself: dropped in favour of the real file.
    expect(b.get("usr/bin/tool")?.type).toBe("file");
    expect(f.some((x) => x.code === "usr-merge" && x.message.includes("lib64"))).toBe(true);
  });

  it("without merged sbin: /sbin goes to usr/sbin, usr/sbin stays", () => {
    const b = input();
    applyTransforms(b, spec(), ctx(false));
    expect(b.get("usr/sbin/mount.foo")?.type).toBe("file");
    expect(b.get("usr/sbin/foo-daemon")?.type).toBe("file");
    expect(target(b, "usr/lib/mounter")).toBe("/usr/sbin/mount.foo");
    expect(b.get("usr/bin/foo")?.type).toBe("file");
    const forced = input();
    applyTransforms(forced, spec({ mergeSbin: true }), ctx(false));
    expect(forced.has("usr/sbin")).toBe(false);
  });

  it("a file in both usr/sbin and usr/bin is a conflict naming both", () => {
    const b = tree({ "usr/sbin/x": "1", "usr/bin/x": "2" });
    let err: unknown;
    try {
      applyTransforms(b, spec({ mergeSbin: true }), ctx());
    } catch (e) {
      err = e;
    }
    expect((err as SysextError).code).toBe("PATH_CONFLICT");
    expect((err as SysextError).message).toContain("usr/sbin/x");
    expect((err as SysextError).message).toContain("usr/bin/x");
  });
});

describe("services and oem-release", () => {
  it("writes the Upholds= drop-in for the configured target and warns about units not in the image", () => {
    const b = tree({ "usr/lib/systemd/system/a.service": "", "usr/lib/systemd/system/getty@.service": "" });
    const f = applyTransforms(
      b,
      spec({
        services: { upholds: ["a.service", "getty@tty1.service", "b.timer"], target: "custom.target" },
      }),
      ctx(),
    );
    expect(text(b.get("usr/lib/systemd/system/custom.target.d/10-oem-test.conf"))).toBe(
      "[Unit]\nUpholds=a.service getty@tty1.service b.timer\n",
    );
    expect(f.filter((x) => x.code === "upholds-unit-missing").map((x) => x.path)).toEqual([
      "usr/lib/systemd/system/b.timer",
    ]);
    const none = tree({});
    applyTransforms(none, spec(), ctx());
    expect(paths(none)).toEqual([]);
  });

  it("writes oem-release with ID, VERSION_ID, NAME, HOME_URL, BUG_REPORT_URL", () => {
    const b = tree({});
    const s = spec({
      metadata: { bugReportUrl: "https://issues.flatcar.org" },
      oem: { id: "azure", name: "Microsoft Azure", homeUrl: "https://azure.microsoft.com/" },
    });
    applyTransforms(b, s, ctx(), "2.9.1.1-1");
    const e = b.get("usr/share/oem/oem-release");
    expect(e).toMatchObject({ mode: 0o644, origin: "generated: oem-release" });
    expect(Object.fromEntries(parseEnvFile(text(e)))).toEqual({
      ID: "azure",
      VERSION_ID: "2.9.1.1-1",
      NAME: "Microsoft Azure",
      HOME_URL: "https://azure.microsoft.com/",
      BUG_REPORT_URL: "https://issues.flatcar.org",
    });
    const pinned = tree({});
    applyTransforms(
      pinned,
      spec({ oem: { id: "qemu", versionId: "3", path: "/usr/share/flatcar/oem-release" } }),
      ctx(),
      "9",
    );
    expect(text(pinned.get("usr/share/flatcar/oem-release"))).toBe("ID=qemu\nVERSION_ID=3\nNAME=qemu\n");
    const noVersion = tree({});
    applyTransforms(noVersion, spec({ oem: { id: "qemu" } }), ctx());
    expect(text(noVersion.get("usr/share/oem/oem-release"))).toBe("ID=qemu\nNAME=qemu\n");
  });
});
