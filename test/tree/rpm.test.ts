// Tests of the rpm source: packages built with rpmbuild (every payload compression), read back and compared with rpm2cpio | cpio.
import { execa } from "execa";
import { mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import { buildExtension } from "../../src/build.js";
import { specFromObject } from "../../src/spec/load.js";
import { readRpmPackage } from "../../src/tree/rpm/package.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { rejection } from "../helpers/errors.js";
import { buildRpm, type RpmDef } from "../helpers/rpm.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { addRaw, debContext, entryText } from "./source-context.js";

let tmp: string;
needRoot();
await needTools("rpmbuild", "rpm", "rpm2cpio", "cpio", "unsquashfs", "mksquashfs", "getcap");

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-rpm-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

export const AGENT: RpmDef = {
  name: "demo-agent",
  version: "1.2.3",
  release: "4.fc40",
  epoch: 2,
  requires: ["/bin/sh", "demo-libs >= 1.0"],
  files: {
    "/usr/bin/demo-agent": { content: "#!/bin/sh\necho demo agent running\n", mode: 0o755 },
    "/usr/bin/demo-ping": { content: "#!/bin/sh\necho ping\n", mode: 0o755 },
    "/usr/lib/systemd/system/demo-agent.service": "[Service]\nExecStart=/usr/bin/demo-agent\n",
    "/usr/share/demo/big.dat": "0123456789abcdef".repeat(20000),
    "/etc/demo/demo.conf": "setting=1\n",
  },
  hardlinks: {
    "/usr/bin/demo-agent-link": "/usr/bin/demo-agent",
    "/usr/libexec/demo/agent": "/usr/bin/demo-agent",
  },
  symlinks: { "/usr/bin/demo": "demo-agent", "/usr/lib/systemd/system/demo.service": "demo-agent.service" },
  dirs: ["/usr/share/demo/empty", "/var/lib/demo"],
  config: ["/etc/demo/demo.conf"],
  ghost: ["/var/log/demo.log"],
  caps: { "/usr/bin/demo-ping": "cap_net_raw,cap_net_admin=ep" },
  scripts: {
    post: "%systemd_post demo-agent.service\nsystemctl preset demo-agent.service >/dev/null 2>&1 || :\ngetent group demo >/dev/null || groupadd -r demo\n",
    postun: "/sbin/ldconfig",
  },
};

const PAYLOADS = [
  ["gzip", "w9.gzdio"],
  ["xz", "w6.xzdio"],
  ["zstd", "w19.zstdio"],
  ["bzip2", "w9.bzdio"],
  ["lzma", "w6.lzdio"],
] as const;

async function query(file: string, fmt: string): Promise<string> {
  return String((await execa("rpm", ["-qp", "--qf", fmt, file])).stdout);
}

describe("rpm source", () => {
  it.each(PAYLOADS)(
    "reads a %s payload exactly as rpm2cpio | cpio -idm extracts it",
    async (kind, payload) => {
      const file = await buildRpm({ ...AGENT, payload }, join(tmp, `rpms-${kind}`));
      expect(await query(file, "%{PAYLOADCOMPRESSOR}")).toBe(kind);
      const ctx = await debContext(tmp);
      const b = new TreeBuilder();
      const r = await addRaw(b, { type: "rpm", packages: [file] }, ctx);
      expect(r.version).toBe("1.2.3-4.fc40");

      // The independent extraction: rpm2cpio | cpio -idm.
      const ref = await mkdtemp(join(tmp, "ref-"));
      await execa("sh", ["-c", `rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet)`, "sh", file, ref]);
      // Modes and types from the header, as rpm prints them.
      const listed = (await query(file, "[%{FILENAMES}\t%{FILEMODES:octal}\t%{FILEFLAGS:fflags}\n]"))
        .trim()
        .split("\n");
      for (const line of listed) {
        const [abs, octal, fflags] = line.split("\t") as [string, string, string];
        const path = abs.slice(1);
        const e = b.get(path);
        if (fflags.includes("g")) {
          expect(e, `${path} is a %ghost`).toBeUndefined();
          continue;
        }
        expect(e, path).toBeDefined();
        const mode = parseInt(octal, 8);
        expect(e!.mode, path).toBe(e!.type === "symlink" ? 0o777 : mode & 0o7777);
        const refStat = await stat(join(ref, path), { bigint: false }).catch(() => undefined);
        if (e!.type === "file") {
          expect(await entryText(e), path).toBe(await readFile(join(ref, path), "utf8"));
          expect(refStat?.isFile()).toBe(true);
        } else if (e!.type === "symlink") {
          expect(e!.target).toBe(await readlink(join(ref, path)));
        } else expect(e!.type).toBe("dir");
      }
      // Hard links carry the content of their set (stored once in the blob).
      const link = b.get("usr/bin/demo-agent-link");
      const main = b.get("usr/bin/demo-agent");
      expect(link?.type === "file" && main?.type === "file" && link.content).toEqual(
        main?.type === "file" && main.content,
      );
      expect(await entryText(b.get("usr/libexec/demo/agent"))).toBe("#!/bin/sh\necho demo agent running\n");
      expect(b.get("usr/bin/demo-ping")?.xattrs?.["security.capability"]).toBeInstanceOf(Uint8Array);
    },
  );

  it("reports scriptlets, %config, %ghost and capabilities like the deb source's scripts and conffiles", async () => {
    const file = await buildRpm(AGENT, join(tmp, "rpms-findings"));
    const ctx = await debContext(tmp);
    await addRaw(new TreeBuilder(), { type: "rpm", packages: [file] }, ctx);
    const by = (code: string) => ctx.findings.filter((f) => f.code === code).map((f) => f.message);
    expect(by("rpm-config")).toEqual([expect.stringContaining("/etc/demo/demo.conf")]);
    expect(by("rpm-ghost")).toEqual([expect.stringContaining("/var/log/demo.log")]);
    expect(by("rpm-capabilities")).toEqual([expect.stringContaining("cap_net_admin,cap_net_raw=ep")]);
    const scripts = by("rpm-scriptlet").join("\n");
    expect(scripts).toContain("would enable demo-agent.service");
    expect(scripts).toContain("groupadd -r demo");
    expect(scripts).toContain("ldconfig");
    expect(ctx.findings.find((f) => f.code === "rpm-dependencies")?.message).toContain("not checked");
  });

  it("carries capabilities and modes into a squashfs image (read back with unsquashfs and getcap)", async () => {
    const file = await buildRpm({ ...AGENT, payload: "w19.zstdio" }, join(tmp, "rpms-image"));
    const base = await readBase({ values: { ID: "fedora", VERSION_ID: "40" }, arch: "x86-64" });
    const spec = specFromObject({
      name: "demo",
      sources: [{ type: "rpm", packages: [file] }],
      drop: ["etc/demo", "var/lib/demo"],
    });
    const r = await buildExtension({ spec, base, outDir: join(tmp, "out") });
    expect(r.release.SYSEXT_VERSION_ID).toBe("1.2.3-4.fc40");
    const ex = join(tmp, "unsquashed");
    await execa("unsquashfs", ["-no-progress", "-d", ex, r.image]);
    expect(String((await execa("getcap", [join(ex, "usr/bin/demo-ping")])).stdout)).toMatch(
      /cap_net_admin,cap_net_raw=ep/,
    );
    expect((await stat(join(ex, "usr/bin/demo-agent"))).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(ex, "usr/libexec/demo/agent"), "utf8")).toContain("demo agent running");
    expect(await readlink(join(ex, "usr/bin/demo"))).toBe("demo-agent");
  });

  it("resolves names in a directory by their headers (newest version, fitting architecture)", async () => {
    const dir = join(tmp, "repo");
    await buildRpm({ name: "demo-tool", version: "1.0", files: { "/usr/bin/t": "1" } }, dir);
    await buildRpm({ name: "demo-tool", version: "1.10", files: { "/usr/bin/t": "10" } }, dir);
    await buildRpm({ name: "demo-tool", version: "1.9", files: { "/usr/bin/t": "9" } }, dir);
    await buildRpm(
      { name: "demo-tool-extra", version: "3", arch: "noarch", files: { "/usr/share/x": "x" } },
      dir,
    );
    const ctx = await debContext(tmp);
    const b = new TreeBuilder();
    const r = await addRaw(b, { type: "rpm", dir, packages: ["demo-tool"] }, ctx);
    expect(r.version).toBe("1.10-1");
    expect(await entryText(b.get("usr/bin/t"))).toBe("10");
    expect(b.has("usr/share/x")).toBe(false);
    const all = new TreeBuilder();
    await addRaw(all, { type: "rpm", dir, packages: ["demo-tool"], allInDir: true }, await debContext(tmp));
    expect(all.has("usr/share/x")).toBe(true);
    const p = await readRpmPackage(join(dir, "demo-tool-1.9-1.x86_64.rpm"));
    expect([p.name, p.version, p.arch]).toEqual(["demo-tool", "1.9", "x86_64"]);
  });

  it("directories owned by several packages merge; identical shared files are allowed, different ones conflict", async () => {
    const dir = join(tmp, "shared");
    const license = "MIT License\n";
    const a = await buildRpm(
      {
        name: "share-a",
        version: "1",
        files: { "/usr/share/licenses/common/LICENSE": license, "/usr/bin/a": "a" },
        dirs: ["/usr/share/common"],
      },
      dir,
    );
    const b = await buildRpm(
      {
        name: "share-b",
        version: "1",
        files: {
          "/usr/share/licenses/common/LICENSE": license,
          "/usr/share/common/b": { content: "b", mode: 0o600 },
        },
        dirs: ["/usr/share/common"],
      },
      dir,
    );
    const c = await buildRpm(
      { name: "share-c", version: "1", files: { "/usr/bin/a": "not a" } },
      join(tmp, "shared-c"),
    );
    const ctx = await debContext(tmp);
    const builder = new TreeBuilder();
    await addRaw(builder, { type: "rpm", packages: [a, b] }, ctx);
    expect(await entryText(builder.get("usr/share/licenses/common/LICENSE"))).toBe(license);
    expect(builder.get("usr/share/common")?.type).toBe("dir");
    const e = await rejection(
      addRaw(builder, { type: "rpm", packages: [c] }, await debContext(tmp)),
      "PATH_CONFLICT",
    );
    expect(e.message).toContain("usr/bin/a");
    expect(e.message).toContain("share-a-1-1.x86_64");
    expect(e.message).toContain("share-c-1-1.x86_64");
  });

  it("excluding some names of a hard-link set is refused; excluding all of them works", async () => {
    const file = await buildRpm(AGENT, join(tmp, "rpms-exclude"));
    const e = await rejection(
      addRaw(
        new TreeBuilder(),
        { type: "rpm", packages: [file], exclude: ["usr/bin/demo-agent"] },
        await debContext(tmp),
      ),
      "SOURCE_INVALID",
    );
    expect(e.message).toContain("hard link of");
    const b = new TreeBuilder();
    await addRaw(
      b,
      { type: "rpm", packages: [file], exclude: ["usr/bin/demo-agent*", "usr/libexec"] },
      await debContext(tmp),
    );
    expect(b.has("usr/bin/demo-agent")).toBe(false);
    expect(b.has("usr/bin/demo-ping")).toBe(true);
  });
});
