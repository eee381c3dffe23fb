// Side by side with `systemd-repart --make-ddi=sysext` (257 and 262): same tree, key, certificate and seed.
import { copyFile, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../../scripts/roots.js";
import type { BuildResult } from "../../../src/build.js";
import { loadSigner } from "../../../src/image/ddi/signature.js";
import { decodeSuperblock, hashDeviceSize } from "../../../src/image/ddi/verity.js";
import { writeDdi } from "../../../src/image/ddi/write.js";
import { needRoot, needTools } from "../../helpers/tools.js";
import { buildFromDir, makeBase, makeKeys, makeTree, runInRoot, scratch, type Keys } from "./helpers.js";
import { partx, type PartxPartition } from "./tools.js";

const NAME = "repart-demo";
let dir: string;
let keys: Keys;
let tree: string;
let ours: BuildResult;

beforeAll(async () => {
  needRoot();
  await needTools("mkfs.erofs", "partx", "unshare", "chroot", "openssl");
  dir = await scratch("sysextkit-repart-");
  keys = await makeKeys(join(dir, "keys"));
  // Over 1 MiB of file system: below that repart sizes the disk to 1 MiB and spreads the spare room over the partitions.
  tree = await makeTree(dir, NAME, "a", 3 << 20);
  ours = await buildFromDir({
    name: NAME,
    tree,
    base: await makeBase(dir),
    outDir: join(dir, "ours"),
    format: "ddi",
    signing: { key: keys.key, certificate: keys.cert },
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const seedUuid = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

/** Build with repart in a cached root (with our seed, so salt and UUIDs are comparable); returns the image path here. */
async function repart(rootName: "trixie-tools" | "sid-tools"): Promise<{ image: string; version: string }> {
  const image = join(dir, `${rootName}.raw`);
  const tr = join(dir, "tree");
  await rm(tr, { recursive: true, force: true });
  const { cp } = await import("node:fs/promises");
  await cp(tree, tr, { recursive: true });
  const run = await runInRoot(
    await ensureRoot(rootName),
    [tr, keys.key, keys.cert],
    `systemd-repart --version | head -1 >&2 && SYSTEMD_LOG_LEVEL=warning systemd-repart --make-ddi=sysext --copy-source=tree --private-key=signer.key --certificate=signer.crt --seed=${seedUuid(ours.verity!.seed)} out.raw >/dev/null`,
    (work) => copyFile(join(work, "out.raw"), image),
  );
  expect(run.exitCode, run.stderr).toBe(0);
  return { image, version: run.stderr.split("\n")[0]! };
}

const sigJson = async (image: string, p: PartxPartition) => {
  const b = (await readFile(image)).subarray(p.start * 512, p.start * 512 + p.size);
  return JSON.parse(b.subarray(0, b.indexOf(0)).toString()) as Record<string, string>;
};

/** Name the region of a DDI a byte offset falls in. */
function region(off: number, size: number, parts: PartxPartition[]): string {
  if (off < 512) return "protective MBR";
  if (off < 1024) return "primary GPT header";
  if (off < 1024 + 16384) return `primary GPT entry ${Math.floor((off - 1024) / 128) + 1}`;
  if (off >= size - 512) return "backup GPT header";
  if (off >= size - 512 - 16384)
    return `backup GPT entry ${Math.floor((off - (size - 512 - 16384)) / 128) + 1}`;
  const p = parts.find((x) => off >= x.start * 512 && off < x.start * 512 + x.size);
  return p ? `partition ${p.name}` : "unpartitioned space";
}

/** Differing byte ranges between two files, by region. */
function diffRegions(a: Buffer, b: Buffer, parts: PartxPartition[]): Map<string, number> {
  const out = new Map<string, number>();
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    const r =
      i >= Math.min(a.length, b.length)
        ? "length (one image is longer)"
        : region(i, Math.min(a.length, b.length), parts);
    out.set(r, (out.get(r) ?? 0) + 1);
  }
  return out;
}

describe.each(["trixie-tools", "sid-tools"] as const)("systemd-repart of %s", (rootName) => {
  it("same partition types and labels, sizes rounded the same way, same verity parameters, same signature JSON keys", async () => {
    const r = await repart(rootName);
    const theirs = await partx(r.image);
    const mine = await partx(ours.image);
    process.stderr.write(
      `${r.version}:\n${[...theirs, ...mine].map((p, i) => `  ${i < theirs.length ? "repart   " : "sysextkit"} ${p.name.padEnd(24)} start ${p.start} size ${p.size} flags ${p.flags}`).join("\n")}\n`,
    );
    expect(theirs.map((p) => [p.name, p.type])).toEqual(mine.map((p) => [p.name, p.type]));
    expect(theirs[0]!.start).toBe(mine[0]!.start); // 1 MiB
    for (const parts of [theirs, mine]) {
      // root: the file system rounded up to 4 KiB; verity: exactly superblock + tree; signature: 16 KiB.
      const data = await readFile(parts === theirs ? r.image : ours.image);
      const sb = decodeSuperblock(data.subarray(parts[1]!.start * 512))!;
      expect(sb.dataBlocks * 4096).toBe(parts[0]!.size);
      expect(parts[1]!.size).toBe(hashDeviceSize(sb.dataBlocks));
      expect(parts[2]!.size).toBe(16384);
      expect(parts[1]!.start).toBe(parts[0]!.start + parts[0]!.sectors);
      expect(parts[2]!.start).toBe(parts[1]!.start + parts[1]!.sectors);
    }
    const sb = async (image: string, p: PartxPartition) =>
      decodeSuperblock((await readFile(image)).subarray(p.start * 512))!;
    const a = await sb(r.image, theirs[1]!);
    const b = await sb(ours.image, mine[1]!);
    // Same seed: same salt and superblock UUID; the data block count follows each one's file system.
    expect({ ...a, dataBlocks: 0 }).toEqual({ ...b, dataBlocks: 0 });
    const ja = await sigJson(r.image, theirs[2]!);
    const jb = await sigJson(ours.image, mine[2]!);
    expect(Object.keys(ja)).toEqual(Object.keys(jb));
    expect(ja.certificateFingerprint).toBe(jb.certificateFingerprint);
    // UUIDs from the root hash (root, verity) and from the seed (signature partition), as repart does.
    expect(theirs[0]!.uuid.replace(/-/g, "") + theirs[1]!.uuid.replace(/-/g, "")).toBe(ja.rootHash);
    expect(theirs[2]!.uuid).toBe(mine[2]!.uuid);
    process.stderr.write(
      `  the file systems differ (repart runs mkfs.erofs uncompressed unless Compression= is set: ${theirs[0]!.size} bytes; sysextkit defaults to lz4hc: ${mine[0]!.size}), so do the root hashes and everything derived from them\n`,
    );
  });

  it("given repart's file system and seed, every partition is byte-identical; the test prints where the tables differ and why", async () => {
    const r = await repart(rootName);
    const theirs = await partx(r.image);
    const mine = join(dir, `${rootName}-rewrapped.raw`);
    await writeDdi({
      out: mine,
      filesystem: { path: r.image, offset: theirs[0]!.start * 512, size: theirs[0]!.size },
      arch: "x86-64",
      signer: await loadSigner({ key: keys.key, certificate: keys.cert }),
      seed: Buffer.from(ours.verity!.seed, "hex"),
    });
    const a = await readFile(r.image);
    const b = await readFile(mine);
    const diffs = diffRegions(a, b, theirs);
    const why: Record<string, string> = {
      "primary GPT entry 3":
        "repart 257 leaves the signature partition without the read-only flag (bit 60); 262 and sysextkit set it, as the DPS recommends",
      "backup GPT entry 3": "the same flag in the backup copy",
      "primary GPT header":
        "the entries' CRC32 (and the header's own) follow from that flag, or the backup GPT's place",
      "backup GPT header": "the same CRCs and LBAs in the backup copy",
      "protective MBR": "the MBR covers the whole disk: its size field follows the disk size",
      "length (one image is longer)":
        "repart 262 ends the disk right after the backup GPT; sysextkit (like 257) rounds the disk size up to 4 KiB",
    };
    process.stderr.write(
      `${r.version} vs sysextkit on repart's file system: ${diffs.size === 0 ? "byte-identical" : "differences:"}\n${[
        ...diffs,
      ]
        .map(
          ([reg, n]) =>
            `  ${reg}: ${n} byte(s) — ${why[reg] ?? (reg.startsWith("backup GPT entry") ? "the backup entries sit elsewhere when the disk size differs" : "UNEXPLAINED")}`,
        )
        .join("\n")}\n`,
    );
    for (const reg of diffs.keys()) {
      expect(reg.startsWith("partition "), `content of ${reg} must be identical`).toBe(false);
      expect(
        why[reg] !== undefined || reg.startsWith("backup GPT entry"),
        `unexplained difference in ${reg}`,
      ).toBe(true);
    }
    if (rootName === "trixie-tools") {
      expect([...diffs.keys()].sort()).toEqual([
        "backup GPT entry 3",
        "backup GPT header",
        "primary GPT entry 3",
        "primary GPT header",
      ]);
    }
  });
});
