// RPM header structures: the lead, the signature header and the main header (tag index + data store), bounds-checked.
import type { FileHandle } from "node:fs/promises";
import { SysextError } from "../../errors.js";

/** Header tags sysextkit reads (rpmtag.h). */
export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  OS: 1021,
  ARCH: 1022,
  PREIN: 1023,
  POSTIN: 1024,
  PREUN: 1025,
  POSTUN: 1026,
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILERDEVS: 1033,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEUSERNAME: 1039,
  FILEGROUPNAME: 1040,
  FILEDIGESTS: 1035,
  SOURCERPM: 1044,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  REQUIREVERSION: 1050,
  PREINPROG: 1085,
  POSTINPROG: 1086,
  PREUNPROG: 1087,
  POSTUNPROG: 1088,
  FILEDEVICES: 1095,
  FILEINODES: 1096,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  PRETRANS: 1151,
  POSTTRANS: 1152,
  PRETRANSPROG: 1153,
  POSTTRANSPROG: 1154,
  LONGFILESIZES: 5008,
  FILECAPS: 5010,
} as const;

/** Tag data types. */
const TYPE = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  ARRAY: 8,
  I18N: 9,
};
const SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };

/** rpm's own limits (header_internal.h): at most 65535 tags and 256 MiB of data per header. */
export const MAX_TAGS = 0xffff;
export const MAX_DATA = 0x0fffffff;
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
export const LEAD_SIZE = 96;

interface IndexEntry {
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

/** A parsed header: every index entry is checked to lie inside the data store when it is parsed. */
export class RpmHeader {
  readonly #index: ReadonlyMap<number, IndexEntry>;
  readonly #data: Buffer;

  constructor(index: ReadonlyMap<number, IndexEntry>, data: Buffer) {
    this.#index = index;
    this.#data = data;
  }

  has(tag: number): boolean {
    return this.#index.has(tag);
  }

  /** A STRING (or the first of a STRING_ARRAY / I18NSTRING) tag, undefined when absent. */
  string(tag: number): string | undefined {
    const e = this.#index.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE.STRING && e.type !== TYPE.ARRAY && e.type !== TYPE.I18N) return undefined;
    return this.#strings(e, 1)[0];
  }

  /** A STRING_ARRAY tag ([] when absent). */
  strings(tag: number): string[] {
    const e = this.#index.get(tag);
    if (!e) return [];
    if (e.type === TYPE.STRING) return this.#strings(e, 1);
    if (e.type !== TYPE.ARRAY && e.type !== TYPE.I18N) return [];
    return this.#strings(e, e.count);
  }

  /** An integer array tag of any width ([] when absent). INT16 values are unsigned (file modes). */
  numbers(tag: number): number[] {
    const e = this.#index.get(tag);
    if (!e) return [];
    const d = this.#data;
    const out: number[] = [];
    for (let i = 0; i < e.count; i++) {
      switch (e.type) {
        case TYPE.CHAR:
        case TYPE.INT8:
          out.push(d.readUInt8(e.offset + i));
          break;
        case TYPE.INT16:
          out.push(d.readUInt16BE(e.offset + 2 * i));
          break;
        case TYPE.INT32:
          out.push(d.readUInt32BE(e.offset + 4 * i));
          break;
        case TYPE.INT64:
          out.push(Number(d.readBigUInt64BE(e.offset + 8 * i)));
          break;
        default:
          return [];
      }
    }
    return out;
  }

  /** The first number of an integer tag. */
  number(tag: number): number | undefined {
    return this.numbers(tag)[0];
  }

  #strings(e: IndexEntry, n: number): string[] {
    const out: string[] = [];
    let at = e.offset;
    for (let i = 0; i < n; i++) {
      const end = this.#data.indexOf(0, at);
      out.push(this.#data.toString("utf8", at, end));
      at = end + 1;
    }
    return out;
  }
}

/** Where the error is: the package file (or database row) and what is wrong with it. */
export function headerError(where: string, why: string, file?: string): SysextError {
  return new SysextError("PACKAGE_INVALID", `${where} is not a valid RPM package: ${why}`, {
    ...(file === undefined ? {} : { location: { file } }),
    hint: "the file is corrupt, truncated or not an RPM; download it again (dnf download <name>) or rebuild it with rpmbuild",
  });
}

/**
 * Parse a header blob: `il` and `dl` (big-endian), `il` index entries of 16 bytes, then `dl` bytes of
 * data. Every entry's type, offset and count are checked against the data store, so nothing read later
 * can run past its end. Returns the header and the number of bytes it occupies.
 */
export function parseHeaderBlob(
  buf: Buffer,
  where: string,
  file?: string,
): { header: RpmHeader; size: number } {
  if (buf.length < 8) throw headerError(where, "the header is truncated", file);
  const il = buf.readUInt32BE(0);
  const dl = buf.readUInt32BE(4);
  checkCounts(il, dl, where, file);
  const size = 8 + il * 16 + dl;
  if (buf.length < size)
    throw headerError(
      where,
      `the header declares ${size} bytes but only ${buf.length} are present (truncated)`,
      file,
    );
  const data = buf.subarray(8 + il * 16, size);
  const index = new Map<number, IndexEntry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = buf.readUInt32BE(at);
    const type = buf.readUInt32BE(at + 4);
    const offset = buf.readInt32BE(at + 8);
    const count = buf.readUInt32BE(at + 12);
    const bad = (why: string) => headerError(where, `tag ${tag}: ${why}`, file);
    if (type > TYPE.I18N) throw bad(`unknown data type ${type}`);
    if (offset < 0 || offset > dl) throw bad(`data offset ${offset} is outside the ${dl}-byte data store`);
    if (count === 0 || count > dl) throw bad(`count ${count} is past the end of the ${dl}-byte data store`);
    const width = SIZE[type];
    if (width !== undefined) {
      if (offset + count * width > dl)
        throw bad(`${count} values at offset ${offset} run past the end of the ${dl}-byte data store`);
    } else if (type === TYPE.STRING || type === TYPE.ARRAY || type === TYPE.I18N) {
      const n = type === TYPE.STRING ? 1 : count;
      let p = offset;
      for (let k = 0; k < n; k++) {
        const end = data.indexOf(0, p);
        if (end < 0) throw bad(`string ${k + 1} of ${n} runs past the end of the data store`);
        p = end + 1;
      }
    }
    index.set(tag, { type, offset, count });
  }
  return { header: new RpmHeader(index, data), size };
}

function checkCounts(il: number, dl: number, where: string, file?: string): void {
  if (il === 0 || il > MAX_TAGS)
    throw headerError(where, `the header declares ${il} tags (at most ${MAX_TAGS} are allowed)`, file);
  if (dl > MAX_DATA)
    throw headerError(
      where,
      `the header declares ${dl} bytes of data (at most ${MAX_DATA} are allowed)`,
      file,
    );
}

/** The headers of a package file and where its payload starts. */
export interface RpmHeaders {
  readonly signature: RpmHeader;
  readonly header: RpmHeader;
  readonly payloadOffset: number;
  /** Whether the lead says this is a source package. */
  readonly source: boolean;
}

async function readExact(
  fh: FileHandle,
  at: number,
  n: number,
  fileSize: number,
  what: string,
  file: string,
) {
  if (at + n > fileSize)
    throw headerError(
      file,
      `${what} needs ${n} bytes at offset ${at}, but the file ends at ${fileSize} (truncated)`,
      file,
    );
  const buf = Buffer.alloc(n);
  const { bytesRead } = await fh.read(buf, 0, n, at);
  if (bytesRead !== n) throw headerError(file, `${what} is truncated`, file);
  return buf;
}

/** Read one magic-prefixed header structure at `at`; returns it and the offset right after it. */
async function readHeaderAt(fh: FileHandle, at: number, fileSize: number, what: string, file: string) {
  const intro = await readExact(fh, at, 16, fileSize, what, file);
  if (!intro.subarray(0, 4).equals(HEADER_MAGIC))
    throw headerError(file, `the ${what} at offset ${at} has no header magic`, file);
  const il = intro.readUInt32BE(8);
  const dl = intro.readUInt32BE(12);
  checkCounts(il, dl, `${file} (${what})`, file);
  const body = await readExact(fh, at + 16, il * 16 + dl, fileSize, what, file);
  const { header } = parseHeaderBlob(Buffer.concat([intro.subarray(8, 16), body]), `${file} (${what})`, file);
  return { header, end: at + 16 + il * 16 + dl };
}

/** Read the lead, the signature header (padded to 8 bytes) and the main header of an open package file. */
export async function readHeaders(fh: FileHandle, file: string): Promise<RpmHeaders> {
  const fileSize = (await fh.stat()).size;
  const lead = await readExact(fh, 0, LEAD_SIZE, fileSize, "the lead", file);
  if (!lead.subarray(0, 4).equals(LEAD_MAGIC))
    throw headerError(file, "it does not start with the RPM lead magic", file);
  if (lead[4]! < 3)
    throw headerError(file, `RPM format version ${lead[4]} is not supported (3 or 4 is)`, file);
  if (lead.readUInt16BE(78) !== 5)
    throw headerError(
      file,
      `signature type ${lead.readUInt16BE(78)} is not the header-style signature (5)`,
      file,
    );
  const sig = await readHeaderAt(fh, LEAD_SIZE, fileSize, "signature header", file);
  const mainAt = sig.end + ((8 - (sig.end % 8)) % 8);
  const main = await readHeaderAt(fh, mainAt, fileSize, "header", file);
  return {
    signature: sig.header,
    header: main.header,
    payloadOffset: main.end,
    source: lead.readUInt16BE(6) === 1,
  };
}
