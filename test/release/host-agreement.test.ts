// Agreement test: checkMerge(systemdVersion 252) must predict what the real systemd-sysext 252 on this machine does.
// Images are built directly with mksquashfs (independent of sysextkit's writers); each row also merges a known-good
// companion image, so "aborts the whole merge" is observed, not assumed.
import { execa } from "execa";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/base/arch.js";
import { checkMerge, type HostIdentity } from "../../src/release/host-check.js";
import { releaseFields } from "../../src/release/release-file.js";
import { formatEnvFile, parseEnvFile } from "../../src/util/env-file.js";
import { haveTools, isRoot, precondition } from "../helpers/tools.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { makeBase, makeSpec } from "./fixtures.js";

const ARCH = hostArch();
const OTHER_ARCH = ARCH === "arm64" ? "x86-64" : "arm64";
const FLATCAR = { ID: "flatcar", VERSION_ID: "3815.2.0" };

interface Row {
  title: string;
  /** Installed file name under var/lib/extensions. */
  as?: string;
  /** Release file name (default extension-release.<image name>). */
  file?: string;
  /** Release file content. */
  text: string;
  xattr?: string;
  osRelease?: boolean;
  host?: Record<string, string>;
}

const generated = formatEnvFile(
  releaseFields({
    name: "t",
    spec: makeSpec({
      name: "t",
      metadata: { displayName: 'Test "quoted" $name', homeUrl: "https://example.org/" },
    }),
    base: makeBase({ arch: ARCH }),
    version: "1.0-r1",
  }),
);

const rows: Row[] = [
  { title: "generated release file, same ID and VERSION_ID", text: generated },
  { title: "other VERSION_ID", text: `ID=flatcar\nVERSION_ID=3815.2.1\nARCHITECTURE=${ARCH}\n` },
  { title: "other ID", text: `ID=debian\nVERSION_ID=3815.2.0\n` },
  { title: "ID=_any", text: "ID=_any\n" },
  {
    title: "ARCHITECTURE of another machine",
    text: `ID=flatcar\nVERSION_ID=3815.2.0\nARCHITECTURE=${OTHER_ARCH}\n`,
  },
  {
    title: "ARCHITECTURE misspelled x86_64/aarch64",
    text: `ID=flatcar\nVERSION_ID=3815.2.0\nARCHITECTURE=${ARCH === "arm64" ? "aarch64" : "x86_64"}\n`,
  },
  { title: "ARCHITECTURE absent", text: "ID=flatcar\nVERSION_ID=3815.2.0\n" },
  { title: "ARCHITECTURE=_any", text: "ID=flatcar\nVERSION_ID=3815.2.0\nARCHITECTURE=_any\n" },
  {
    title: "SYSEXT_LEVEL equal (VERSION_ID differs)",
    text: "ID=flatcar\nVERSION_ID=1\nSYSEXT_LEVEL=1.0\n",
    host: { ...FLATCAR, SYSEXT_LEVEL: "1.0" },
  },
  {
    title: "SYSEXT_LEVEL different",
    text: "ID=flatcar\nVERSION_ID=3815.2.0\nSYSEXT_LEVEL=2\n",
    host: { ...FLATCAR, SYSEXT_LEVEL: "1.0" },
  },
  {
    title: "host SYSEXT_LEVEL only, extension none",
    text: "ID=flatcar\n",
    host: { ID: "flatcar", SYSEXT_LEVEL: "1.0" },
  },
  { title: "host without VERSION_ID", text: "ID=flatcar\nVERSION_ID=9\n", host: { ID: "flatcar" } },
  { title: "extension without VERSION_ID", text: "ID=flatcar\n" },
  { title: "SYSEXT_SCOPE=portable only", text: "ID=flatcar\nVERSION_ID=3815.2.0\nSYSEXT_SCOPE=portable\n" },
  {
    title: "SYSEXT_SCOPE=system initrd",
    text: 'ID=flatcar\nVERSION_ID=3815.2.0\nSYSEXT_SCOPE="system initrd"\n',
  },
  { title: "release file misnamed", file: "extension-release.other", text: "ID=_any\n" },
  { title: "misnamed + strict xattr 0", file: "extension-release.other", text: "ID=_any\n", xattr: "0" },
  { title: "misnamed + strict xattr 1", file: "extension-release.other", text: "ID=_any\n", xattr: "1" },
  {
    title: "ID_LIKE host",
    text: "ID=debian\nVERSION_ID=12\n",
    host: { ID: "ubuntu", ID_LIKE: "debian", VERSION_ID: "12" },
  },
  { title: "NAME.sysext.raw", as: "t.sysext.raw", text: "ID=_any\n" },
  { title: "versioned NAME_1.2.raw", as: "t_1.2.raw", text: "ID=_any\n" },
  { title: "usr/lib/os-release inside", text: "ID=_any\n", osRelease: true },
  { title: "empty release file", text: "" },
];

function hostIdentity(os: Record<string, string>): HostIdentity {
  return {
    id: os.ID ?? "",
    ...(os.VERSION_ID ? { versionId: os.VERSION_ID } : {}),
    ...(os.SYSEXT_LEVEL ? { sysextLevel: os.SYSEXT_LEVEL } : {}),
    idLike: (os.ID_LIKE ?? "").split(/\s+/).filter(Boolean),
    arch: ARCH,
  };
}

let work = "";
let ready = false;
const tally = { merged: 0, ignored: 0, aborted: 0 };

async function squash(
  name: string,
  files: { path: string; text: string; xattr?: string }[],
): Promise<string> {
  const dir = join(work, `src-${name}`);
  for (const f of files) {
    await mkdir(join(dir, f.path, ".."), { recursive: true });
    await writeFile(join(dir, f.path), f.text);
    if (f.xattr !== undefined)
      await execa("setfattr", ["-n", "user.extension-release.strict", "-v", f.xattr, join(dir, f.path)]);
  }
  const out = join(work, `${name}.raw`);
  await execa("mksquashfs", [dir, out, "-noappend", "-quiet", "-all-root", "-no-progress"]);
  return out;
}

beforeAll(async () => {
  ready = isRoot() && (await haveTools("mksquashfs", "setfattr", "systemd-sysext", "unshare"));
  if (!ready) return;
  const { stdout } = await execa("systemd-sysext", ["--version"]);
  ready = precondition(
    /^systemd 252\b/.test(stdout),
    `this agreement matrix targets systemd 252, found ${stdout.split("\n")[0]}`,
  );
  if (!ready) return;
  work = await mkdtemp(join(tmpdir(), "sysextkit-agree-"));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("checkMerge agrees with systemd-sysext 252", () => {
  for (const [i, row] of rows.entries()) {
    it(
      row.title,
      async (ctx) => {
        if (!ready) ctx.skip();
        const as = row.as ?? "t.raw";
        const file = row.file ?? "extension-release.t";
        const img = await squash(`row${i}`, [
          { path: "usr/share/sxk-marker/t", text: "t\n" },
          {
            path: `usr/lib/extension-release.d/${file}`,
            text: row.text,
            ...(row.xattr === undefined ? {} : { xattr: row.xattr }),
          },
          ...(row.osRelease ? [{ path: "usr/lib/os-release", text: "ID=evil\n" }] : []),
        ]);
        const companion = await squash(`good${i}`, [
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

  it("the matrix covers merged, ignored and aborting rows", (ctx) => {
    if (!ready) ctx.skip();
    expect(tally.merged).toBeGreaterThanOrEqual(5);
    expect(tally.ignored).toBeGreaterThanOrEqual(5);
    expect(tally.aborted).toBeGreaterThanOrEqual(3);
  });
});
