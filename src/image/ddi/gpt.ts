// GUID partition table: protective MBR, primary and backup headers and entries, written and read back.
import { GPT_ENTRIES, GPT_ENTRY_SIZE, SECTOR } from "./types.js";
import { gptToUuid, uuidToGpt } from "./seed.js";

export interface GptPartition {
  readonly typeUuid: string;
  readonly uuid: string;
  /** Byte offset of the partition (a multiple of the sector size). */
  readonly offset: number;
  /** Size in bytes (a multiple of the sector size). */
  readonly size: number;
  readonly attributes: bigint;
  readonly name: string;
}

export interface GptLayout {
  readonly diskUuid: string;
  /** Size of the whole disk image in bytes (a multiple of the sector size). */
  readonly diskSize: number;
  /** The first usable byte for partitions (repart/libfdisk: 1 MiB). */
  readonly firstUsable: number;
  readonly partitions: readonly GptPartition[];
}

/** Bytes of the entry array: 128 entries of 128 bytes, 32 sectors. */
const ENTRIES_BYTES = GPT_ENTRIES * GPT_ENTRY_SIZE;
const ENTRIES_SECTORS = ENTRIES_BYTES / SECTOR;
/** What the primary table occupies at the start: MBR, header, entries (34 sectors). */
export const GPT_HEAD_BYTES = (2 + ENTRIES_SECTORS) * SECTOR;
/** What the backup table occupies at the end: entries, header (33 sectors). */
export const GPT_TAIL_BYTES = (1 + ENTRIES_SECTORS) * SECTOR;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), as GPT uses it. */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function entriesArray(parts: readonly GptPartition[]): Buffer {
  const buf = Buffer.alloc(ENTRIES_BYTES);
  parts.forEach((p, i) => {
    const o = i * GPT_ENTRY_SIZE;
    uuidToGpt(p.typeUuid).copy(buf, o);
    uuidToGpt(p.uuid).copy(buf, o + 16);
    buf.writeBigUInt64LE(BigInt(p.offset / SECTOR), o + 32);
    buf.writeBigUInt64LE(BigInt((p.offset + p.size) / SECTOR - 1), o + 40);
    buf.writeBigUInt64LE(p.attributes, o + 48);
    const name = Buffer.from(p.name, "utf16le");
    if (name.length > 72) throw new Error(`GPT partition name ${p.name} is longer than 36 characters`);
    name.copy(buf, o + 56);
  });
  return buf;
}

function header(l: GptLayout, primary: boolean, entriesCrc: number): Buffer {
  const lastLba = l.diskSize / SECTOR - 1;
  const h = Buffer.alloc(SECTOR);
  h.write("EFI PART", 0, "latin1");
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(BigInt(primary ? 1 : lastLba), 24);
  h.writeBigUInt64LE(BigInt(primary ? lastLba : 1), 32);
  h.writeBigUInt64LE(BigInt(l.firstUsable / SECTOR), 40);
  h.writeBigUInt64LE(BigInt(lastLba - 1 - ENTRIES_SECTORS), 48);
  uuidToGpt(l.diskUuid).copy(h, 56);
  h.writeBigUInt64LE(BigInt(primary ? 2 : lastLba - ENTRIES_SECTORS), 72);
  h.writeUInt32LE(GPT_ENTRIES, 80);
  h.writeUInt32LE(GPT_ENTRY_SIZE, 84);
  h.writeUInt32LE(entriesCrc, 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
  return h;
}

/** The protective MBR: one partition of type 0xEE covering the disk (capped at 2^32-1 sectors). */
function protectiveMbr(diskSize: number): Buffer {
  const m = Buffer.alloc(SECTOR);
  const e = 446;
  m.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff], e);
  m.writeUInt32LE(1, e + 8);
  m.writeUInt32LE(Math.min(diskSize / SECTOR - 1, 0xffffffff), e + 12);
  m[510] = 0x55;
  m[511] = 0xaa;
  return m;
}

/** The bytes of the primary table (offset 0, GPT_HEAD_BYTES) and the backup table (the last GPT_TAIL_BYTES). */
export function renderGpt(l: GptLayout): { head: Buffer; tail: Buffer } {
  const entries = entriesArray(l.partitions);
  const crc = crc32(entries);
  return {
    head: Buffer.concat([protectiveMbr(l.diskSize), header(l, true, crc), entries]),
    tail: Buffer.concat([entries, header(l, false, crc)]),
  };
}

export interface GptReadResult {
  readonly layout: GptLayout | undefined;
  /** Everything that is wrong with the tables (empty when both copies are intact and agree). */
  readonly problems: string[];
}

/** Parse and check both tables of a disk image given its first GPT_HEAD_BYTES and last GPT_TAIL_BYTES. */
export function parseGpt(head: Buffer, tail: Buffer, diskSize: number): GptReadResult {
  const problems: string[] = [];
  if (head.length < GPT_HEAD_BYTES || diskSize % SECTOR !== 0) {
    return {
      layout: undefined,
      problems: ["too small or not a whole number of 512-byte sectors for a GPT disk image"],
    };
  }
  if (head[510] !== 0x55 || head[511] !== 0xaa || head[450] !== 0xee) problems.push("no protective MBR");
  const lastLba = diskSize / SECTOR - 1;
  const primary = checkHeader(head.subarray(SECTOR, 2 * SECTOR), 1, lastLba, "primary", problems);
  if (!primary) return { layout: undefined, problems };
  const entries = head.subarray(2 * SECTOR, 2 * SECTOR + ENTRIES_BYTES);
  if (primary.entriesLba !== 2)
    problems.push(`primary GPT: entries at LBA ${primary.entriesLba}, expected 2`);
  if (crc32(entries) !== primary.entriesCrc) problems.push("primary GPT: partition entries CRC32 mismatch");
  const backup = checkHeader(tail.subarray(tail.length - SECTOR), lastLba, 1, "backup", problems);
  if (backup) {
    const bEntries = tail.subarray(0, ENTRIES_BYTES);
    if (backup.entriesLba !== lastLba - ENTRIES_SECTORS)
      problems.push("backup GPT: entries not right before the header");
    if (crc32(bEntries) !== backup.entriesCrc) problems.push("backup GPT: partition entries CRC32 mismatch");
    if (!bEntries.equals(entries))
      problems.push("backup GPT: partition entries differ from the primary ones");
    if (backup.diskUuid !== primary.diskUuid)
      problems.push("backup GPT: disk GUID differs from the primary one");
  }
  const partitions: GptPartition[] = [];
  for (let i = 0; i < GPT_ENTRIES; i++) {
    const e = entries.subarray(i * GPT_ENTRY_SIZE, (i + 1) * GPT_ENTRY_SIZE);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first || first < primary.firstUsable || last > primary.lastUsable) {
      problems.push(`partition ${i + 1}: LBA ${first}-${last} outside the usable area`);
    }
    const nameBytes = e.subarray(56, 128);
    let end = 0;
    while (end + 1 < nameBytes.length && (nameBytes[end] !== 0 || nameBytes[end + 1] !== 0)) end += 2;
    partitions.push({
      typeUuid: gptToUuid(e.subarray(0, 16)),
      uuid: gptToUuid(e.subarray(16, 32)),
      offset: first * SECTOR,
      size: (last - first + 1) * SECTOR,
      attributes: e.readBigUInt64LE(48),
      name: nameBytes.subarray(0, end).toString("utf16le"),
    });
  }
  return {
    layout: { diskUuid: primary.diskUuid, diskSize, firstUsable: primary.firstUsable * SECTOR, partitions },
    problems,
  };
}

interface HeaderInfo {
  readonly firstUsable: number;
  readonly lastUsable: number;
  readonly diskUuid: string;
  readonly entriesLba: number;
  readonly entriesCrc: number;
}

function checkHeader(
  h: Buffer,
  myLba: number,
  altLba: number,
  which: string,
  problems: string[],
): HeaderInfo | undefined {
  if (h.toString("latin1", 0, 8) !== "EFI PART") {
    problems.push(`${which} GPT header missing (no "EFI PART" signature)`);
    return undefined;
  }
  const size = h.readUInt32LE(12);
  if (size < 92 || size > SECTOR) {
    problems.push(`${which} GPT header size ${size} is invalid`);
    return undefined;
  }
  const copy = Buffer.from(h.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== h.readUInt32LE(16)) problems.push(`${which} GPT header CRC32 mismatch`);
  if (Number(h.readBigUInt64LE(24)) !== myLba) problems.push(`${which} GPT header: own LBA is not ${myLba}`);
  if (Number(h.readBigUInt64LE(32)) !== altLba)
    problems.push(`${which} GPT header: other header not at LBA ${altLba}`);
  if (h.readUInt32LE(80) !== GPT_ENTRIES || h.readUInt32LE(84) !== GPT_ENTRY_SIZE) {
    problems.push(
      `${which} GPT header: ${h.readUInt32LE(80)} entries of ${h.readUInt32LE(84)} bytes (expected 128 x 128)`,
    );
  }
  return {
    firstUsable: Number(h.readBigUInt64LE(40)),
    lastUsable: Number(h.readBigUInt64LE(48)),
    diskUuid: gptToUuid(h.subarray(56, 72)),
    entriesLba: Number(h.readBigUInt64LE(72)),
    entriesCrc: h.readUInt32LE(88),
  };
}
