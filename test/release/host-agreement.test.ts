// Agreement test: checkMerge(systemdVersion 252) must predict what the real systemd-sysext 252 on this machine does.
// Images are built directly with mksquashfs (independent of sysextkit's writers); each row also merges a known-good
// companion image, so "aborts the whole merge" is observed, not assumed.
// systemd 257 and 262 run the same matrix in their roots: host-agreement-newer.test.ts.
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkMerge } from "../../src/release/host-check.js";
import { parseEnvFile } from "../../src/util/env-file.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { FLATCAR, hostIdentity, rows, squash } from "./agreement-rows.js";

let work = "";
const tally = { merged: 0, ignored: 0, aborted: 0 };

beforeAll(async () => {
  needRoot();
  await needTools("mksquashfs", "setfattr", "systemd-sysext", "unshare");
  const { stdout } = await execa("systemd-sysext", ["--version"]);
  // Debian 12's systemd (README command 1 installs it): this matrix is what systemd 252 does.
  if (!/^systemd 252\b/.test(stdout))
    throw new Error(`this agreement matrix targets systemd 252 (Debian 12), found ${stdout.split("\n")[0]}`);
  work = await mkdtemp(join(tmpdir(), "sysextkit-agree-"));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("checkMerge agrees with systemd-sysext 252", () => {
  for (const [i, row] of rows.entries()) {
    it(
      row.title,
      async () => {
        const as = row.as ?? "t.raw";
        const file = row.file ?? "extension-release.t";
        const img = await squash(work, `row${i}`, [
          { path: "usr/share/sxk-marker/t", text: "t\n" },
          {
            path: `usr/lib/extension-release.d/${file}`,
            text: row.text,
            ...(row.xattr === undefined ? {} : { xattr: row.xattr }),
          },
          ...(row.osRelease ? [{ path: "usr/lib/os-release", text: "ID=evil\n" }] : []),
        ]);
        const companion = await squash(work, `good${i}`, [
          { path: "usr/share/sxk-marker/zz-good", text: "good\n" },
          { path: "usr/lib/extension-release.d/extension-release.zz-good", text: "ID=_any\n" },
        ]);
        const host = row.host ?? FLATCAR;
        const r = await mergeInScratchRoot({
          images: [
            { file: img, as },
            { file: companion, as: "zz-good.raw" },
          ],
          host: { osRelease: host },
          script: 'for n in t zz-good; do test -e "$ROOT/usr/share/sxk-marker/$n" && echo "MERGED:$n"; done',
        });
        const merged = r.output.includes("MERGED:t");
        const companionMerged = r.output.includes("MERGED:zz-good");
        const verdict = checkMerge({
          imageFileName: as,
          releaseFiles: [file],
          release: row.text === "" ? {} : Object.fromEntries(parseEnvFile(row.text)),
          strictXattr: row.xattr,
          host: hostIdentity(host),
          systemdVersion: 252,
          containsOsRelease: row.osRelease ?? false,
        });
        const observed = { merges: merged, abortsMerge: !companionMerged };
        tally[merged ? "merged" : companionMerged ? "ignored" : "aborted"]++;
        expect(
          observed,
          `${row.title}: systemd said ${r.mergeOutput.trim()}; we said ${verdict.reason}`,
        ).toEqual({
          merges: verdict.merges,
          abortsMerge: verdict.abortsMerge,
        });
      },
      30_000,
    );
  }

  it("the matrix covers merged, ignored and aborting rows", () => {
    expect(tally.merged).toBeGreaterThanOrEqual(5);
    expect(tally.ignored).toBeGreaterThanOrEqual(5);
    expect(tally.aborted).toBeGreaterThanOrEqual(3);
  });
});
