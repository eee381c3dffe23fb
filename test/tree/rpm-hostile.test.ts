// Hostile RPMs: truncated headers, counts past the end, escaping names, writing through symlinks, huge sizes.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import { buildExtension } from "../../src/build.js";
import type { ErrorCode } from "../../src/errors.js";
import { specFromObject } from "../../src/spec/load.js";
import { readRpmPackage } from "../../src/tree/rpm/package.js";
import { rejection } from "../helpers/errors.js";
import { buildRpm } from "../helpers/rpm.js";
import { cpioNewc, handMadeRpm } from "../helpers/rpm-writer.js";
import { needRoot, needTools } from "../helpers/tools.js";

let tmp: string;
needRoot();
await needTools("rpmbuild", "mksquashfs");

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-rpm-hostile-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const REG = 0o100644;
const DIR = 0o040755;
const LNK = 0o120777;

/** Build an extension from `rpm` (written to a file); the build must fail with `code` and leave no image. */
async function refused(name: string, rpm: Buffer, code: ErrorCode): Promise<string> {
  const file = join(tmp, `${name}.rpm`);
  await writeFile(file, rpm);
  const out = join(tmp, `out-${name}`);
  const base = await readBase({ values: { ID: "fedora", VERSION_ID: "40" }, arch: "x86-64" });
  const spec = specFromObject({ name: "hostile", sources: [{ type: "rpm", packages: [file] }] });
  const e = await rejection(buildExtension({ spec, base, outDir: out }), code);
  expect(await readdir(out).catch(() => [])).toEqual([]);
  expect(e.hint, e.message).toBeTruthy();
  return e.message;
}

describe("hostile RPM packages", () => {
  let good: Buffer;
  beforeAll(async () => {
    good = await readFile(
      await buildRpm({ name: "fine", version: "1", files: { "/usr/bin/fine": "fine\n" } }, join(tmp, "good")),
    );
  });

  it("a truncated header", async () => {
    const msg = await refused("truncated", good.subarray(0, 400), "PACKAGE_INVALID");
    expect(msg).toMatch(/truncated/);
    expect(await refused("lead-only", good.subarray(0, 50), "PACKAGE_INVALID")).toMatch(/truncated/);
  });

  it("header counts and offsets past the end of the data store", async () => {
    const file = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 2 }],
      cpio: cpioNewc([{ name: "./usr/bin/x", mode: REG, data: Buffer.from("x\n") }]),
    });
    // Find the main header (second header magic) and make its first entry's count enormous.
    const main = file.indexOf(Buffer.from([0x8e, 0xad, 0xe8, 0x01]), 100);
    const countPast = Buffer.from(file);
    countPast.writeUInt32BE(0x7fffffff, main + 16 + 12);
    expect(await refused("count-past", countPast, "PACKAGE_INVALID")).toMatch(/past the end/);
    const offsetPast = Buffer.from(file);
    offsetPast.writeUInt32BE(0x10000, main + 16 + 8);
    expect(await refused("offset-past", offsetPast, "PACKAGE_INVALID")).toMatch(/outside the .*data store/);
    const tooMany = Buffer.from(file);
    tooMany.writeUInt32BE(0x01000000, main + 8);
    expect(await refused("too-many-tags", tooMany, "PACKAGE_INVALID")).toMatch(/declares 16777216 tags/);
    const hugeData = Buffer.from(file);
    hugeData.writeUInt32BE(0x7fffffff, main + 12);
    expect(await refused("huge-header", hugeData, "PACKAGE_INVALID")).toMatch(/bytes of data/);
  });

  it("payload names with ../ or absolute paths", async () => {
    const up = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 2 }],
      cpio: cpioNewc([{ name: "./usr/../../etc/x", mode: REG, data: Buffer.from("x\n") }]),
    });
    expect(await refused("dotdot", up, "PATH_ESCAPE")).toMatch(/'\.\.'/);
    const abs = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 2 }],
      cpio: cpioNewc([{ name: "/etc/shadow", mode: REG, data: Buffer.from("x\n") }]),
    });
    expect(await refused("absolute", abs, "PATH_ESCAPE")).toMatch(/absolute path/);
    const headerUp = handMadeRpm({
      files: [{ path: "/usr/../../etc/x", mode: REG, size: 2 }],
      cpio: cpioNewc([]),
    });
    expect(await refused("header-dotdot", headerUp, "PATH_ESCAPE")).toMatch(/'\.\.'/);
    const stray = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 2 }],
      cpio: cpioNewc([{ name: "./usr/bin/y", mode: REG, data: Buffer.from("y\n") }]),
    });
    expect(await refused("stray", stray, "PACKAGE_INVALID")).toMatch(/not listed in the package header/);
  });

  it("a symlink and then a file written through it", async () => {
    const rpm = handMadeRpm({
      files: [
        { path: "/usr/lib/evil", mode: LNK, size: 4, linkTo: "/etc" },
        { path: "/usr/lib/evil/passwd", mode: REG, size: 2 },
      ],
      cpio: cpioNewc([
        { name: "./usr/lib/evil", mode: LNK, data: Buffer.from("/etc") },
        { name: "./usr/lib/evil/passwd", mode: REG, data: Buffer.from("x\n") },
      ]),
    });
    expect(await refused("through-symlink", rpm, "PATH_ESCAPE")).toMatch(/through symlink usr\/lib\/evil/);
    const outward = handMadeRpm({
      files: [{ path: "/usr/lib/out", mode: LNK, size: 12, linkTo: "../../../etc" }],
      cpio: cpioNewc([{ name: "./usr/lib/out", mode: LNK, data: Buffer.from("../../../etc") }]),
    });
    expect(await refused("outward-link", outward, "PATH_ESCAPE")).toMatch(/points outside/);
  });

  it("a huge declared size", async () => {
    const lie = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 0xfffffff0 }],
      cpio: cpioNewc([{ name: "./usr/bin/x", mode: REG, data: Buffer.from("x\n"), size: 0xfffffff0 }]),
    });
    expect(await refused("huge-size", lie, "PACKAGE_INVALID")).toMatch(/truncated/);
    const mismatch = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 2 }],
      cpio: cpioNewc([{ name: "./usr/bin/x", mode: REG, data: Buffer.from("x\n"), size: 0xfffffff0 }]),
    });
    expect(await refused("size-mismatch", mismatch, "PACKAGE_INVALID")).toMatch(
      /declares 4294967280 bytes, but the header says 2/,
    );
  });

  it("a source package, a payload compressor that contradicts the magic bytes, and a missing file", async () => {
    const hand = handMadeRpm({
      files: [{ path: "/usr/bin/x", mode: REG, size: 2 }],
      cpio: cpioNewc([{ name: "./usr/bin/x", mode: REG, data: Buffer.from("x\n") }]),
    });
    const src = Buffer.from(hand);
    src.writeUInt16BE(1, 6);
    expect(await refused("source", src, "PACKAGE_INVALID")).toMatch(/source package/);
    const i = hand.indexOf(Buffer.from("gzip\0"));
    const xz = Buffer.concat([hand.subarray(0, i), Buffer.from("xz\0\0\0"), hand.subarray(i + 5)]);
    expect(await refused("compressor", xz, "PACKAGE_INVALID")).toMatch(
      /declares a xz payload, but its magic bytes say gzip/,
    );
    const missing = handMadeRpm({
      files: [
        { path: "/usr/bin/x", mode: REG, size: 2 },
        { path: "/usr/bin", mode: DIR, size: 0 },
      ],
      cpio: cpioNewc([{ name: "./usr/bin", mode: DIR }]),
    });
    expect(await refused("missing", missing, "PACKAGE_INVALID")).toMatch(
      /missing from the payload: \/usr\/bin\/x/,
    );
  });

  it("a hand-made package that is well-formed is read", async () => {
    const file = join(tmp, "hand.rpm");
    await writeFile(
      file,
      handMadeRpm({
        files: [{ path: "/usr/bin/x", mode: 0o100755, size: 2 }],
        cpio: cpioNewc([{ name: "./usr/bin/x", mode: 0o100755, data: Buffer.from("x\n") }]),
      }),
    );
    const p = await readRpmPackage(file);
    expect(p.files.map((f) => [f.path, f.mode, f.size])).toEqual([["/usr/bin/x", 0o100755, 2]]);
  });

  it("rpm's stripped cpio form (large-file packages) takes names and sizes from the header", async () => {
    const file = join(tmp, "stripped.rpm");
    await writeFile(
      file,
      handMadeRpm({
        files: [
          { path: "/usr/share/a", mode: REG, size: 5 },
          { path: "/usr/share/b", mode: REG, size: 3 },
        ],
        cpio: cpioNewc([
          { name: "", mode: 0, stripped: 1, data: Buffer.from("bbb") },
          { name: "", mode: 0, stripped: 0, data: Buffer.from("aaaaa") },
        ]),
      }),
    );
    const base = await readBase({ values: { ID: "fedora", VERSION_ID: "40" }, arch: "x86-64" });
    const spec = specFromObject({ name: "stripped", sources: [{ type: "rpm", packages: [file] }] });
    const r = await buildExtension({ spec, base, outDir: join(tmp, "out-stripped"), format: "directory" });
    expect(await readFile(join(r.image, "usr/share/a"), "utf8")).toBe("aaaaa");
    expect(await readFile(join(r.image, "usr/share/b"), "utf8")).toBe("bbb");
  });
});
