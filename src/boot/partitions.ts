// Finds the root file system in a disk image: a whole-disk ext4, or a GPT/MBR partition (read-only parsing).
import { open, type FileHandle } from "node:fs/promises";
import type { SystemdArch } from "../base/arch.js";
import { SysextError } from "../errors.js";

export interface RootFs {
  /** Byte offset of the file system in the image. */
  readonly offset: number;
  /** 1-based partition number; undefined for a whole-disk file system. */
  readonly partition: number | undefined;
  /** GPT partition UUID (lower case) or MBR "DISKID-NN", for root=PARTUUID=. */
  readonly partuuid: string | undefined;
}

/** Discoverable Partitions Specification: root partition type per architecture. */
const ROOT_TYPES: Partial<Record<SystemdArch, string>> = {
  "x86-64": "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
  arm64: "b921b045-1df0-41c3-af44-4c6f280d3fae",
};

interface Part {
  readonly number: number;
  readonly start: number;
  readonly type: string;
  readonly name: string;
  readonly partuuid: string;
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.alloc(len);
  const { bytesRead } = await fh.read(b, 0, len, pos);
  return b.subarray(0, bytesRead);
}

/** A mixed-endian GPT GUID as text. */
function guid(b: Buffer): string {
  const h = b.toString("hex");
  const swap = (s: string) => s.match(/../g)!.reverse().join("");
  return `${swap(h.slice(0, 8))}-${swap(h.slice(8, 12))}-${swap(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function isExt(fh: FileHandle, offset: number): Promise<boolean> {
  const sb = await readAt(fh, offset + 1024, 64);
  return sb.length >= 58 && sb.readUInt16LE(56) === 0xef53;
}

async function partitions(fh: FileHandle): Promise<Part[]> {
  const mbr = await readAt(fh, 0, 512);
  if (mbr.length < 512 || mbr.readUInt16LE(510) !== 0xaa55) return [];
  const gpt = await readAt(fh, 512, 92);
  if (gpt.toString("latin1", 0, 8) === "EFI PART") {
    const entriesLba = Number(gpt.readBigUInt64LE(72));
    const count = gpt.readUInt32LE(80);
    const size = gpt.readUInt32LE(84);
    const table = await readAt(fh, entriesLba * 512, Math.min(count, 256) * size);
    const out: Part[] = [];
    for (let i = 0; i * size + 128 <= table.length; i++) {
      const e = table.subarray(i * size, i * size + size);
      const type = guid(e.subarray(0, 16));
      if (type === "00000000-0000-0000-0000-000000000000") continue;
      out.push({
        number: i + 1,
        start: Number(e.readBigUInt64LE(32)) * 512,
        type,
        name: e.subarray(56, 128).toString("utf16le").replace(/\0.*$/s, ""),
        partuuid: guid(e.subarray(16, 32)),
      });
    }
    return out;
  }
  const diskId = mbr.readUInt32LE(440).toString(16).padStart(8, "0");
  const out: Part[] = [];
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(446 + i * 16, 462 + i * 16);
    const type = e[4]!;
    if (type === 0) continue;
    out.push({
      number: i + 1,
      start: e.readUInt32LE(8) * 512,
      type: type.toString(16).padStart(2, "0"),
      name: "",
      partuuid: `${diskId}-${String(i + 1).padStart(2, "0")}`,
    });
  }
  return out;
}

/**
 * The ext4 root file system of a disk image: the whole disk, the partition asked for, else the
 * partition typed as this architecture's root (or named ROOT/root), else the only ext4 partition.
 */
export async function findRootFs(disk: string, arch: SystemdArch, wanted?: number): Promise<RootFs> {
  const fh = await open(disk, "r");
  try {
    const parts = await partitions(fh);
    if (parts.length === 0) {
      if (await isExt(fh, 0)) return { offset: 0, partition: undefined, partuuid: undefined };
      throw notFound(disk, "it has neither a partition table nor an ext4 file system");
    }
    let chosen: Part | undefined;
    if (wanted !== undefined) {
      chosen = parts.find((p) => p.number === wanted);
      if (!chosen) throw notFound(disk, `it has no partition ${wanted}`);
    } else {
      const ext: Part[] = [];
      for (const p of parts) if (await isExt(fh, p.start)) ext.push(p);
      chosen =
        ext.find((p) => p.type === ROOT_TYPES[arch]) ??
        ext.find((p) => /^root$/i.test(p.name)) ??
        (ext.length === 1 ? ext[0] : undefined);
      if (!chosen) {
        throw notFound(
          disk,
          ext.length === 0 ? "no partition holds an ext4 file system" : `${ext.length} ext4 partitions`,
        );
      }
    }
    if (!(await isExt(fh, chosen.start))) {
      throw notFound(disk, `partition ${chosen.number} is not ext4`);
    }
    return { offset: chosen.start, partition: chosen.number, partuuid: chosen.partuuid };
  } finally {
    await fh.close();
  }
}

function notFound(disk: string, why: string): SysextError {
  return new SysextError("BASE_INVALID", `cannot find the ext4 root file system in ${disk}: ${why}`, {
    location: { file: disk },
    hint: "name the root partition with --root-partition N (files are placed into ext4 file systems only)",
  });
}
