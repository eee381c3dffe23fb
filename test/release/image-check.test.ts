// `check IMAGE` judges the whole image as systemd-sysext 252 does (release file and content), for squashfs,
// erofs and directory images; every verdict is compared with a real merge on this machine. Images are made
// with mksquashfs, mkfs.erofs and cp, not with sysextkit's writers.
import { execa } from "execa";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/base/arch.js";
import { readBase, type BaseRelease } from "../../src/base/base.js";
import { checkImage } from "../../src/release/image-check.js";
import { cli } from "../helpers/cli.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";

const HOST = { ID: "testos", VERSION_ID: "7" };
const FORMATS = ["squashfs", "erofs", "directory"] as const;
type Format = (typeof FORMATS)[number];

interface Row {
  title: string;
  files: Record<string, string>;
  /** What check must say, besides agreeing with the real merge. */
  merges: boolean;
  finding?: string;
}

const release = (name: string, text = `ID=testos\nVERSION_ID=7\nARCHITECTURE=${hostArch()}\n`) => ({
  [`usr/lib/extension-release.d/extension-release.${name}`]: text,
});

const rows: Row[] = [
  { title: "a good image", files: { ...release("t"), "usr/share/sxk/t": "t\n" }, merges: true },
  {
    // Defect: check said "would merge" for an image that systemd 252 refuses for its usr/lib/os-release.
    title: "usr/lib/os-release inside",
    files: { ...release("t"), "usr/share/sxk/t": "t\n", "usr/lib/os-release": "ID=evil\n" },
    merges: false,
    finding: "error:os-release-in-extension",
  },
  {
    title: "content outside usr/ and opt/ (ignored by the merge)",
    files: { ...release("t"), "usr/share/sxk/t": "t\n", "etc/t.conf": "x\n" },
    merges: true,
    finding: "warning:outside-usr-opt",
  },
  {
    title: "another VERSION_ID",
    files: { ...release("t", "ID=testos\nVERSION_ID=8\n"), "usr/share/sxk/t": "t\n" },
    merges: false,
  },
];

let work: string;
let host: BaseRelease;

async function makeImage(format: Format, name: string, files: Record<string, string>): Promise<string> {
  const src = join(work, `src-${format}-${name}`);
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(src, p)), { recursive: true });
    await writeFile(join(src, p), text);
  }
  if (format === "directory") return src;
  const out = join(work, `${format}-${name}.raw`);
  if (format === "squashfs")
    await execa("mksquashfs", [src, out, "-noappend", "-quiet", "-no-progress", "-all-root"]);
  else await execa("mkfs.erofs", ["--all-root", out, src]);
  return out;
}

beforeAll(async () => {
  needRoot();
  await needTools("mksquashfs", "mkfs.erofs", "systemd-sysext", "unshare");
  work = await mkdtemp(join(tmpdir(), "sysextkit-image-check-"));
  await writeFile(join(work, "os-release"), "ID=testos\nVERSION_ID=7\n");
  host = await readBase({ path: join(work, "os-release") });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(FORMATS)("check of a %s image agrees with systemd-sysext 252", (format) => {
  it.each(rows.map((r, i) => [r.title, r, i] as const))("%s", async (_t, row, i) => {
    const image = await makeImage(format, `r${i}`, row.files);
    const companion = await makeImage(format, `good${i}`, {
      ...release("zz-good"),
      "usr/share/sxk/zz-good": "good\n",
    });
    const as = format === "directory" ? "t" : "t.raw";
    const r = await mergeInScratchRoot({
      images: [
        { file: image, as },
        { file: companion, as: format === "directory" ? "zz-good" : "zz-good.raw" },
      ],
      host: { osRelease: HOST },
      script:
        'for n in t zz-good; do test -e "$ROOT/usr/share/sxk/$n" && echo "MERGED:$n"; done; test -e "$ROOT/etc/t.conf" && echo ETC',
    });
    const observed = {
      merges: r.output.includes("MERGED:t"),
      abortsMerge: !r.output.includes("MERGED:zz-good"),
    };
    expect(r.output).not.toContain("ETC");
    const verdict = await checkImage({ image, host, systemdVersion: 252, as });
    expect(
      { merges: verdict.merges, abortsMerge: verdict.abortsMerge },
      `systemd said: ${r.mergeOutput.trim()}; we said: ${verdict.reason}`,
    ).toEqual(observed);
    expect(verdict.merges).toBe(row.merges);
    expect(verdict.format).toBe(format);
    if (row.finding) expect(verdict.findings.map((f) => `${f.severity}:${f.code}`)).toContain(row.finding);
  });
});

describe("sysextkit check", () => {
  it("prints the content findings and exits 1 for an image with usr/lib/os-release", async () => {
    const image = await makeImage("squashfs", "cli", {
      ...release("cli"),
      "usr/share/sxk/cli": "x\n",
      "usr/lib/os-release": "ID=evil\n",
    });
    const r = await cli([
      "check",
      image,
      "--as",
      "cli.raw",
      "--host",
      join(work, "os-release"),
      "--systemd",
      "252",
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^does not merge: the image contains usr\/lib\/os-release/);
    expect(r.stdout).toMatch(/error +os-release-in-extension usr\/lib\/os-release/);
    const j = await cli([
      "check",
      image,
      "--as",
      "cli.raw",
      "--host",
      join(work, "os-release"),
      "--systemd",
      "252",
      "--json",
    ]);
    expect(JSON.parse(j.stdout)).toMatchObject({
      schemaVersion: 1,
      merges: false,
      abortsMerge: true,
      format: "squashfs",
    });
  });
});
