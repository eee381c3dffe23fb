// SELinux labels from a real policy (Debian's selinux-policy-default): lookups against matchpathcon, carried into squashfs and erofs.
import { execa } from "execa";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import { buildExtension } from "../../src/build.js";
import { specFromObject } from "../../src/spec/load.js";
import { loadFileContexts } from "../../src/tree/selinux-contexts.js";
import type { EntryType } from "../../src/tree/types.js";
import { rejection } from "../helpers/errors.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { getXattr } from "../image/fixture.js";

const POLICY = "/etc/selinux/default";
const FC = `${POLICY}/contexts/files/file_contexts`;
needRoot();
await needTools("matchpathcon", "mksquashfs", "unsquashfs", "mkfs.erofs", "getfattr");
if ((await execa("test", ["-f", FC], { reject: false })).exitCode !== 0)
  throw new Error(
    `no SELinux policy at ${FC} (Debian package selinux-policy-default): run 'bash scripts/setup-debian.sh'`,
  );

const MATCHPATHCON_TYPE: Record<string, string> = { file: "file", dir: "dir", symlink: "lnk_file" };

/** What matchpathcon says for each path (all of one type), "<<none>>" when the policy gives none. */
async function matchpathcon(paths: readonly string[], type: EntryType): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < paths.length; i += 1000) {
    const { stdout } = await execa("matchpathcon", [
      "-m",
      MATCHPATHCON_TYPE[type]!,
      "-f",
      FC,
      ...paths.slice(i, i + 1000),
    ]);
    out.push(
      ...String(stdout)
        .split("\n")
        .map((l) => l.split("\t")[1]!),
    );
  }
  return out;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-selinux-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A base root with os-release and (unless `withPolicy` is false) the host's SELinux policy configuration. */
async function baseRoot(name: string, osRelease: string, withPolicy = true): Promise<string> {
  const root = join(tmp, name);
  await mkdir(join(root, "usr/lib"), { recursive: true });
  await writeFile(join(root, "usr/lib/os-release"), osRelease);
  if (withPolicy) {
    await mkdir(join(root, "etc/selinux/default/contexts"), { recursive: true });
    await writeFile(join(root, "etc/selinux/config"), "SELINUX=enforcing\nSELINUXTYPE=default\n");
    await cp(`${POLICY}/contexts/files`, join(root, "etc/selinux/default/contexts/files"), {
      recursive: true,
    });
  }
  return root;
}

describe("SELinux labels", () => {
  it("looks up contexts exactly as matchpathcon does (files, directories, symlinks of this machine)", async () => {
    const fc = await loadFileContexts(FC);
    const find = async (type: string) =>
      String(
        (
          await execa("sh", [
            "-c",
            `find /usr /opt /etc /var -maxdepth 5 -type ${type} 2>/dev/null | head -600`,
          ])
        ).stdout,
      )
        .trim()
        .split("\n");
    const extra = [
      "/usr/lib64/libz.so.1",
      "/usr/local/bin/x",
      "/usr/libexec/agent/helper",
      "/usr/share/oem/oem-release",
      "/opt/vendor/bin/tool",
      "/usr/lib/udev/rules.d/60-x.rules",
    ];
    for (const [type, findType] of [
      ["file", "f"],
      ["dir", "d"],
      ["symlink", "l"],
    ] as const) {
      const paths = [...(await find(findType)), ...(type === "file" ? extra : [])];
      const theirs = await matchpathcon(paths, type);
      const ours = paths.map((p) => fc.lookup(p, type) ?? "<<none>>");
      const diffs = paths.flatMap((p, i) =>
        ours[i] === theirs[i] ? [] : [`${type} ${p}: ours ${ours[i]}, matchpathcon ${theirs[i]}`],
      );
      expect(diffs).toEqual([]);
      expect(paths.length).toBeGreaterThan(100);
    }
  });

  it.each(["squashfs", "erofs"] as const)(
    "labels every entry of a %s image with security.selinux (read back with getfattr)",
    async (format) => {
      const root = await baseRoot(`base-${format}`, "ID=fedora\nVERSION_ID=40\n");
      const src = join(tmp, `src-${format}`);
      for (const [p, c] of [
        ["usr/bin/agent", "#!/bin/sh\n"],
        ["usr/lib/systemd/system/agent.service", "[Service]\n"],
        ["usr/lib64/libagent.so.1", "x"],
        ["usr/libexec/agent/helper", "x"],
        ["opt/vendor/bin/tool", "x"],
        ["usr/share/agent/data", "x"],
      ] as const) {
        await mkdir(join(src, p, ".."), { recursive: true });
        await writeFile(join(src, p), c);
      }
      await symlink("../bin/agent", join(src, "usr/lib64/agent-link"));
      const spec = specFromObject({
        name: "labelled",
        sources: [{ type: "directory", path: src }],
        image: { format },
      });
      const base = await readBase({ path: root, arch: "x86-64" });
      const r = await buildExtension({ spec, base, outDir: join(tmp, `out-${format}`) });
      expect(r.findings.find((f) => f.code === "selinux-labels")?.message).toMatch(
        /labelled \d+ entries with the base's SELinux policy 'default'/,
      );
      const mnt = join(tmp, `mnt-${format}`);
      if (format === "squashfs") await execa("unsquashfs", ["-no-progress", "-quiet", "-d", mnt, r.image]);
      else {
        await mkdir(mnt);
        await execa("mount", ["-o", "loop,ro", "-t", "erofs", r.image, mnt]);
      }
      try {
        const entries = String(
          (await execa("sh", ["-c", `cd "$1" && find . -mindepth 1 -printf '%y %P\\n'`, "sh", mnt])).stdout,
        )
          .trim()
          .split("\n");
        expect(entries.length).toBeGreaterThan(10);
        const byType = new Map<EntryType, string[]>();
        for (const line of entries) {
          const type: EntryType = line[0] === "d" ? "dir" : line[0] === "l" ? "symlink" : "file";
          byType.set(type, [...(byType.get(type) ?? []), line.slice(2)]);
        }
        for (const [type, paths] of byType) {
          const expected = await matchpathcon(
            paths.map((p) => `/${p}`),
            type,
          );
          for (const [i, p] of paths.entries())
            expect(await getXattr(join(mnt, p), "security.selinux"), `${type} ${p}`).toBe(`${expected[i]}\0`);
        }
        expect(await getXattr(join(mnt, "usr/lib/systemd/system/agent.service"), "security.selinux")).toMatch(
          /:systemd_unit_t:/,
        );
      } finally {
        if (format === "erofs") await execa("umount", [mnt]);
      }
    },
  );

  it("a base without a policy: a finding (a warning for SELinux distributions); 'require' fails; 'off' does not label", async () => {
    const src = join(tmp, "src-plain");
    await mkdir(join(src, "usr/bin"), { recursive: true });
    await writeFile(join(src, "usr/bin/x"), "x");
    const build = async (root: string, selinux?: string) =>
      buildExtension({
        spec: specFromObject({
          name: "plain",
          sources: [{ type: "directory", path: src }],
          ...(selinux ? { selinux } : {}),
        }),
        base: await readBase({ path: root, arch: "x86-64" }),
        outDir: join(tmp, "out-plain"),
        format: "directory",
      });
    const fedora = await build(await baseRoot("nopolicy-fedora", "ID=fedora\nVERSION_ID=40\n", false));
    expect(fedora.findings.find((f) => f.code === "selinux-policy-missing")?.severity).toBe("warning");
    const debian = await build(await baseRoot("nopolicy-debian", "ID=debian\nVERSION_ID=12\n", false));
    expect(debian.findings.find((f) => f.code === "selinux-policy-missing")?.severity).toBe("info");
    const e = await rejection(
      build(await baseRoot("nopolicy-require", "ID=centos\nVERSION_ID=9\n", false), "require"),
      "BASE_INVALID",
    );
    expect(e.message).toMatch(/SELinux labels are required/);
    const off = await build(await baseRoot("policy-off", "ID=fedora\nVERSION_ID=40\n"), "off");
    expect(off.findings.filter((f) => f.code.startsWith("selinux"))).toEqual([]);
  });
});
