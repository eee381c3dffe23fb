// The release-file limit against real systemd: an image whose extension-release is exactly LIMITS.releaseFileBytes
// long, built by sysextkit, merges with systemd-sysext 252 (this machine) and 257 (the trixie-tools root).
import { execa } from "execa";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../scripts/roots.js";
import { buildExtension, hostArch, readBase, specFromObject } from "../../src/index.js";
import { releaseFields, renderReleaseFile } from "../../src/release/release-file.js";
import { LIMITS } from "../../src/util/limits.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { haveTools, isRoot } from "../helpers/tools.js";

const arch = hostArch();
let dir: string;
let image: string;
let ok = true;

/** Merge `image` as limit.raw into a scratch host with systemd-sysext 257 run inside the trixie-tools root. */
async function mergeWith257(root: string, host: string): Promise<string> {
  const script = [
    "set -e",
    "mount --make-rprivate /",
    'mount --bind "$R" "$R"',
    'mount --rbind /dev "$R/dev"',
    'mount -t proc proc "$R/proc"',
    'mount -t sysfs sys "$R/sys"',
    'mount -t tmpfs tmpfs "$R/run"',
    'mount -t tmpfs tmpfs "$R/tmp"',
    'mkdir "$R/tmp/host"',
    'mount --bind "$H" "$R/tmp/host"',
    "chroot \"$R\" sh -c 'mount --make-rshared /; systemd-sysext --version | head -1; systemd-sysext merge --root=/tmp/host && cat /tmp/host/usr/share/limit/marker; systemd-sysext unmerge --root=/tmp/host >/dev/null'",
  ].join("\n");
  const r = await execa("unshare", ["-m", "--propagation", "private", "sh", "-c", script], {
    env: { R: root, H: host },
    reject: false,
    all: true,
  });
  return String(r.all);
}

describe("LIMITS.releaseFileBytes is what systemd 252 and 257 accept", () => {
  beforeAll(async () => {
    ok = (await haveTools("mksquashfs", "systemd-sysext", "unshare", "chroot")) && isRoot();
    if (!ok) return;
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
  });
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it("a release file of exactly the limit is built and merged by systemd 252 and 257", async () => {
    if (!ok) return;
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

    const root = await ensureRoot("trixie-tools");
    const host = join(dir, "host257");
    await mkdir(join(host, "usr/lib"), { recursive: true });
    await mkdir(join(host, "var/lib/extensions"), { recursive: true });
    await writeFile(join(host, "usr/lib/os-release"), "ID=testos\nVERSION_ID=1.0\n");
    await execa("cp", [image, join(host, "var/lib/extensions/limit.raw")]);
    expect((await stat(join(host, "var/lib/extensions/limit.raw"))).size).toBeGreaterThan(0);
    const out = await mergeWith257(root, host);
    expect(out).toMatch(/^systemd 257/m);
    expect(out).toContain("Merged extensions");
    expect(out).toContain("merged");
  }, 300_000);
});
