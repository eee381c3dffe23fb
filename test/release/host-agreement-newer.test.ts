// Agreement test on newer systemd: what `sysextkit check` decides (inspectImage + checkMerge for systemd 257 / 262)
// must be what the real systemd-sysext of Debian 13 (257) and unstable (262) does, on the whole matrix of
// host-agreement.test.ts. Each row is a scratch root merged with `systemd-sysext merge --root` in the tools
// root's chroot, next to a known-good companion image, so "aborts the whole merge" is observed too.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectImage } from "../../src/image/inspect.js";
import { checkMerge } from "../../src/release/host-check.js";
import { systemdVersionOf, toolsRoot } from "../helpers/chroot.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { FLATCAR, hostIdentity, rows, squash } from "./agreement-rows.js";

needRoot();
await needTools("mksquashfs", "setfattr", "unshare", "chroot", "debootstrap");
let work = "";
const images: Array<{ img: string; companion: string }> = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sysextkit-agree-newer-"));
  for (const [i, row] of rows.entries()) {
    const file = row.file ?? "extension-release.t";
    images.push({
      img: await squash(work, `row${i}`, [
        { path: "usr/share/sxk-marker/t", text: "t\n" },
        {
          path: `usr/lib/extension-release.d/${file}`,
          text: row.text,
          ...(row.xattr === undefined ? {} : { xattr: row.xattr }),
        },
        ...(row.osRelease ? [{ path: "usr/lib/os-release", text: "ID=evil\n" }] : []),
      ]),
      companion: await squash(work, `good${i}`, [
        { path: "usr/share/sxk-marker/zz-good", text: "good\n" },
        { path: "usr/lib/extension-release.d/extension-release.zz-good", text: "ID=_any\n" },
      ]),
    });
  }
}, 120_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

// One chroot session merges every row's scratch root in turn (merge, look, unmerge).
const SCRIPT = `
for d in /rows/*; do
  n=\${d##*/}
  systemd-sysext merge --root="$d" --no-reload >"/rows/$n.log" 2>&1
  echo "ROW $n EXIT $?"
  for m in t zz-good; do test -e "$d/usr/share/sxk-marker/$m" && echo "ROW $n MERGED $m"; done
  systemd-sysext unmerge --root="$d" --no-reload >/dev/null 2>&1
done`;

describe.each(["trixie-tools", "sid-tools"] as const)(
  "checkMerge agrees with systemd-sysext of %s",
  (name) => {
    it("on every row of the agreement matrix", async () => {
      const root = await toolsRoot(name);
      try {
        const systemd = await systemdVersionOf(root);
        for (const [i, row] of rows.entries()) {
          const d = join(root.upper, "rows", String(i));
          await mkdir(join(d, "usr/lib"), { recursive: true });
          await mkdir(join(d, "var/lib/extensions"), { recursive: true });
          const host = row.host ?? FLATCAR;
          await writeFile(
            join(d, "usr/lib/os-release"),
            Object.entries(host)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
              .join(""),
          );
          await copyFile(images[i]!.img, join(d, "var/lib/extensions", row.as ?? "t.raw"));
          await copyFile(images[i]!.companion, join(d, "var/lib/extensions/zz-good.raw"));
        }
        const r = await root.run(SCRIPT);
        const tally = { merged: 0, ignored: 0, aborted: 0 };
        const disagree: string[] = [];
        for (const [i, row] of rows.entries()) {
          expect(r.stdout, r.stderr).toContain(`ROW ${i} EXIT`);
          const out = `${r.stdout}\n`;
          const merged = out.includes(`ROW ${i} MERGED t\n`);
          const companion = out.includes(`ROW ${i} MERGED zz-good\n`);
          // What `sysextkit check IMAGE --host ... --systemd N --as NAME` computes.
          const info = await inspectImage(images[i]!.img);
          const verdict = checkMerge({
            imageFileName: row.as ?? "t.raw",
            releaseFiles: info.releaseFiles,
            release: info.release,
            strictXattr: info.strictXattr,
            strictXattrs: info.strictXattrs,
            host: hostIdentity(row.host ?? FLATCAR),
            systemdVersion: systemd,
            containsOsRelease: info.files.some((f) => f.path === "usr/lib/os-release"),
          });
          tally[merged ? "merged" : companion ? "ignored" : "aborted"]++;
          if (merged !== verdict.merges || !companion !== verdict.abortsMerge)
            disagree.push(
              `${row.title}: systemd ${systemd} merged=${merged} companion=${companion}; we said ${verdict.merges ? "merges" : "no"}${verdict.abortsMerge ? " (aborts)" : ""}: ${verdict.reason}`,
            );
        }
        expect(disagree).toEqual([]);
        expect(tally.merged).toBeGreaterThanOrEqual(5);
        expect(tally.ignored).toBeGreaterThanOrEqual(5);
        expect(tally.aborted).toBeGreaterThanOrEqual(2);
      } finally {
        await root.dispose();
      }
    }, 180_000);
  },
);
