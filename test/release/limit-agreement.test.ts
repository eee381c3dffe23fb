// The release-file limit against real systemd: an image whose extension-release is exactly LIMITS.releaseFileBytes
// long, built by sysextkit, merges with systemd-sysext 252 (this machine) and 257 (the trixie-tools root); past it
// both read only part of the file and ignore the image.
import { execa } from "execa";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExtension, hostArch, readBase, specFromObject } from "../../src/index.js";
import { releaseFields, renderReleaseFile } from "../../src/release/release-file.js";
import { LIMITS } from "../../src/util/limits.js";
import { toolsRoot } from "../helpers/chroot.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";

const arch = hostArch();
let dir: string;
let image: string;
/**
 * The same image with a release file 64 KiB over the limit (made with mksquashfs: sysextkit refuses it).
 * Measured with this layout: systemd 252 and 257 read the first 67,112,941 bytes of a release file (the limit
 * + 4,078) and silently drop the rest, so its last line (VERSION_ID) is lost and the image is ignored.
 */
const OVER = 64 * 1024;
let over: string;

describe("LIMITS.releaseFileBytes is what systemd 252 and 257 accept", () => {
  beforeAll(async () => {
    await needTools("mksquashfs", "systemd-sysext", "unshare", "chroot");
    needRoot();
    dir = await mkdtemp(join(tmpdir(), "sysextkit-limit-"));
    const base = await readBase({ values: { ID: "testos", VERSION_ID: "1.0" }, arch });
    const spec = (displayName: string) =>
      specFromObject({
        name: "limit",
        metadata: { displayName },
        sources: [{ type: "file", path: "usr/share/limit/marker", content: "merged\n" }],
      });
    // Size the display name so that the release file is exactly at the limit.
    const probe = renderReleaseFile(
      "limit",
      releaseFields({ name: "limit", spec: spec("N").spec, base, version: undefined }),
    );
    const name = "N".repeat(LIMITS.releaseFileBytes - Buffer.byteLength(probe) + 1);
    const r = await buildExtension({ spec: spec(name), base, outDir: join(dir, "out") });
    image = r.image;
    const tree = join(dir, "over");
    await execa("unsquashfs", ["-d", tree, image]);
    const rel = join(tree, "usr/lib/extension-release.d/extension-release.limit");
    // 64 KiB more in SYSEXT_NAME, which comes before VERSION_ID (the last line).
    await execa("sh", ["-c", 'sed -i "s/^SYSEXT_NAME=N/SYSEXT_NAME=$2N/" "$1"', "sh", rel, "N".repeat(OVER)]);
    over = join(dir, "over.raw");
    await execa("mksquashfs", [tree, over, "-noappend", "-all-root", "-quiet"]);
  });
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it("a release file of exactly the limit is built and merged by systemd 252 and 257; far past it is ignored", async () => {
    const { stdout } = await execa("unsquashfs", ["-lls", image, "usr/lib/extension-release.d"]);
    expect(stdout).toMatch(
      new RegExp(
        ` ${LIMITS.releaseFileBytes} \\S+ \\S+ squashfs-root/usr/lib/extension-release\\.d/extension-release\\.limit`,
      ),
    );
    const v252 = await mergeInScratchRoot({
      images: [{ file: image, as: "limit.raw" }],
      host: { osRelease: { ID: "testos", VERSION_ID: "1.0" } },
      script: 'cat "$ROOT/usr/share/limit/marker"',
    });
    expect(v252.mergeOutput).toContain("Merged extensions");
    expect(v252.output).toContain("merged");
    // Beyond it systemd 252 does not read the whole file: VERSION_ID (the last line) is lost, the image ignored.
    const { stdout: overLs } = await execa("unsquashfs", ["-lls", over, "usr/lib/extension-release.d"]);
    expect(overLs).toContain(` ${LIMITS.releaseFileBytes + OVER} `);
    const o252 = await mergeInScratchRoot({
      images: [{ file: over, as: "limit.raw" }],
      host: { osRelease: { ID: "testos", VERSION_ID: "1.0" } },
      script: 'cat "$ROOT/usr/share/limit/marker"',
    });
    expect(o252.mergeOutput).toMatch(/ignored due to incompatible version/);
    expect(o252.output).not.toMatch(/^merged$/m);

    // systemd 257 from the trixie-tools root, merging into a scratch host inside it (/host).
    const root = await toolsRoot("trixie-tools");
    try {
      const host = join(root.upper, "host");
      await mkdir(join(host, "usr/lib"), { recursive: true });
      await mkdir(join(host, "var/lib/extensions"), { recursive: true });
      await writeFile(join(host, "usr/lib/os-release"), "ID=testos\nVERSION_ID=1.0\n");
      await copyFile(image, join(host, "var/lib/extensions/limit.raw"));
      const merge =
        "systemctl --version | head -1; systemd-sysext merge --root=/host && cat /host/usr/share/limit/marker; systemd-sysext unmerge --root=/host >/dev/null";
      const r = await root.run(merge);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/^systemd 257/m);
      expect(out).toContain("Merged extensions");
      expect(out).toContain("merged");
      await copyFile(over, join(host, "var/lib/extensions/limit.raw"));
      const o = await root.run(merge);
      const overOut = o.stdout + o.stderr;
      expect(overOut).toMatch(/^systemd 257/m);
      expect(overOut).toMatch(/1 ignored due to incompatible image/);
      expect(overOut).not.toMatch(/^merged$/m);
    } finally {
      await root.dispose();
    }
  }, 300_000);
});
