// The release-file limit against real systemd: an image whose extension-release is exactly LIMITS.releaseFileBytes
// long, built by sysextkit, merges with systemd-sysext 252 (this machine) and 257 (the trixie-tools root).
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
import { haveTools, isRoot } from "../helpers/tools.js";

const arch = hostArch();
let dir: string;
let image: string;
let ok = true;

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

    // systemd 257 from the trixie-tools root, merging into a scratch host inside it (/host).
    const root = await toolsRoot("trixie-tools");
    try {
      const host = join(root.upper, "host");
      await mkdir(join(host, "usr/lib"), { recursive: true });
      await mkdir(join(host, "var/lib/extensions"), { recursive: true });
      await writeFile(join(host, "usr/lib/os-release"), "ID=testos\nVERSION_ID=1.0\n");
      await copyFile(image, join(host, "var/lib/extensions/limit.raw"));
      const r = await root.run(
        "systemctl --version | head -1; systemd-sysext merge --root=/host && cat /host/usr/share/limit/marker; systemd-sysext unmerge --root=/host >/dev/null",
      );
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/^systemd 257/m);
      expect(out).toContain("Merged extensions");
      expect(out).toContain("merged");
    } finally {
      await root.dispose();
    }
  }, 300_000);
});
