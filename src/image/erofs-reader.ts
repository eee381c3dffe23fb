// Minimal read-only erofs metadata reader (superblock, inodes, directories, xattrs, uncompressed data).
import { open, type FileHandle } from "node:fs/promises";
import { SysextError } from "../errors.js";

export const EROFS_MAGIC = 0xe0f5e1e2;
const SB_OFFSET = 1024;
const XATTR_PREFIXES: Readonly<Record<number, string>> = {
  1: "user.",
  2: "system.posix_acl_access",
  3: "system.posix_acl_default",
  4: "trusted.",
  6: "security.",
};

export interface ErofsInode {
  readonly nid: number;
  readonly mode: number; // full st_mode (type and permission bits)
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly layout: number;
  readonly rdev: number;
  readonly xattrs: Readonly<Record<string, Buffer>>;
  /** Offset of inline data (right after inode and xattrs). */
  readonly inlineOffset: number;
  readonly rawBlkaddr: number;
}

export interface ErofsWalkEntry {
  readonly path: string; // relative, "" for the root
  readonly inode: ErofsInode;
}

export class ErofsReader {
  private constructor(
    private readonly fh: FileHandle,
    private readonly file: string,
    readonly blockSize: number,
    readonly rootNid: number,
    readonly buildTime: number,
    private readonly metaBlkaddr: number,
    private readonly xattrBlkaddr: number,
  ) {}

  static async open(file: string): Promise<ErofsReader> {
    const fh = await open(file, "r");
    try {
      const sb = await readAt(fh, SB_OFFSET, 128);
      if (sb.readUInt32LE(0) !== EROFS_MAGIC) throw invalid(file, "no erofs superblock at offset 1024");
      const blkszbits = sb.readUInt8(12);
      if (blkszbits < 9 || blkszbits > 16) throw invalid(file, `block size 2^${blkszbits} is not supported`);
      return new ErofsReader(
        fh,
        file,
        1 << blkszbits,
        sb.readUInt16LE(14),
        Number(sb.readBigUInt64LE(24)),
        sb.readUInt32LE(40),
        sb.readUInt32LE(44),
      );
    } catch (e) {
      await fh.close();
      throw asInvalid(file, e);
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  async inode(nid: number): Promise<ErofsInode> {
    const at = this.metaBlkaddr * this.blockSize + nid * 32;
    const b = await readAt(this.fh, at, 64);
    const format = b.readUInt16LE(0);
    const extended = (format & 1) === 1;
    const layout = (format >> 1) & 7;
    const icount = b.readUInt16LE(2);
    const isize = extended ? 64 : 32;
    const xsize = icount === 0 ? 0 : 12 + (icount - 1) * 4;
    const xattrs = xsize === 0 ? {} : await this.#xattrs(await readAt(this.fh, at + isize, xsize));
    return {
      nid,
      mode: b.readUInt16LE(4),
      size: extended ? Number(b.readBigUInt64LE(8)) : b.readUInt32LE(8),
      uid: extended ? b.readUInt32LE(24) : b.readUInt16LE(24),
      gid: extended ? b.readUInt32LE(28) : b.readUInt16LE(26),
      mtime: extended ? Number(b.readBigUInt64LE(32)) : this.buildTime,
      layout,
      rdev: b.readUInt32LE(16),
      rawBlkaddr: b.readUInt32LE(16),
      xattrs,
      inlineOffset: at + isize + xsize,
    };
  }

  /** Whether the inode's data is stored uncompressed (flat plain or flat inline). */
  isPlain(ino: ErofsInode): boolean {
    return ino.layout === 0 || ino.layout === 2;
  }

  /** The data of an uncompressed inode (directories, symlinks, small files). */
  async data(ino: ErofsInode): Promise<Buffer> {
    if (!this.isPlain(ino)) {
      throw new SysextError(
        "FORMAT_UNSUPPORTED",
        `erofs inode ${ino.nid} of ${this.file} is compressed or chunked`,
        {
          hint: "read it with fsck.erofs --extract",
        },
      );
    }
    if (ino.size > 64 << 20) throw invalid(this.file, `inode ${ino.nid} is too large to read into memory`);
    const full = ino.layout === 2 ? Math.floor(ino.size / this.blockSize) * this.blockSize : ino.size;
    const head = full > 0 ? await readAt(this.fh, ino.rawBlkaddr * this.blockSize, full) : Buffer.alloc(0);
    const tail =
      ino.size - full > 0 ? await readAt(this.fh, ino.inlineOffset, ino.size - full) : Buffer.alloc(0);
    return Buffer.concat([head, tail]);
  }

  /** Directory entries (without "." and ".."). */
  async readdir(ino: ErofsInode): Promise<Array<{ name: string; nid: number }>> {
    const data = await this.data(ino);
    const out: Array<{ name: string; nid: number }> = [];
    for (let blk = 0; blk < data.length; blk += this.blockSize) {
      const b = data.subarray(blk, Math.min(data.length, blk + this.blockSize));
      const count = b.readUInt16LE(8) / 12;
      for (let i = 0; i < count; i++) {
        const nid = Number(b.readBigUInt64LE(i * 12));
        const start = b.readUInt16LE(i * 12 + 8);
        let end = i + 1 < count ? b.readUInt16LE((i + 1) * 12 + 8) : b.length;
        const nul = b.indexOf(0, start);
        if (i + 1 === count && nul >= 0 && nul < end) end = nul;
        const name = b.toString("utf8", start, end);
        if (name !== "." && name !== "..") out.push({ name, nid });
      }
    }
    return out;
  }

  /**
   * Every inode below the root, parents before children. A corrupt image (a directory listed twice, which
   * would loop or explode, or records running past the end) is IMAGE_INVALID.
   */
  async walk(): Promise<ErofsWalkEntry[]> {
    const out: ErofsWalkEntry[] = [];
    const dirs = new Set<number>();
    const visit = async (path: string, nid: number, depth: number): Promise<void> => {
      if (depth > 256) throw invalid(this.file, "directory nesting too deep (loop?)");
      const ino = await this.inode(nid);
      out.push({ path, inode: ino });
      if ((ino.mode & 0o170000) !== 0o040000) return;
      if (dirs.has(nid)) throw invalid(this.file, `directory inode ${nid} is listed more than once`);
      dirs.add(nid);
      for (const d of await this.readdir(ino))
        await visit(path ? `${path}/${d.name}` : d.name, d.nid, depth + 1);
    };
    try {
      await visit("", this.rootNid, 0);
    } catch (e) {
      throw asInvalid(this.file, e);
    }
    return out;
  }

  async #xattrs(body: Buffer): Promise<Record<string, Buffer>> {
    const out: Record<string, Buffer> = {};
    const shared = body.readUInt8(4);
    for (let i = 0; i < shared; i++) {
      const id = body.readUInt32LE(12 + i * 4);
      const hdr = await readAt(this.fh, this.xattrBlkaddr * this.blockSize + id * 4, 4);
      const entry = await readAt(
        this.fh,
        this.xattrBlkaddr * this.blockSize + id * 4,
        4 + hdr.readUInt8(0) + hdr.readUInt16LE(2),
      );
      parseEntry(entry, 0, out);
    }
    let off = 12 + shared * 4;
    while (off + 4 <= body.length) off = parseEntry(body, off, out);
    return out;
  }
}

function parseEntry(b: Buffer, off: number, out: Record<string, Buffer>): number {
  const nameLen = b.readUInt8(off);
  const index = b.readUInt8(off + 1);
  const valueSize = b.readUInt16LE(off + 2);
  const name = (XATTR_PREFIXES[index] ?? `unknown${index}.`) + b.toString("utf8", off + 4, off + 4 + nameLen);
  out[name] = Buffer.from(b.subarray(off + 4 + nameLen, off + 4 + nameLen + valueSize));
  return off + ((4 + nameLen + valueSize + 3) & ~3);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Out-of-range reads of a truncated or corrupt image surface as RangeError: report them as IMAGE_INVALID. */
function asInvalid(file: string, e: unknown): unknown {
  if (e instanceof SysextError) return e;
  return new SysextError("IMAGE_INVALID", `${file} is not a readable erofs image: ${(e as Error).message}`, {
    location: { file },
    hint: "check the image with fsck.erofs",
    cause: e,
  });
}

function invalid(file: string, why: string): SysextError {
  return new SysextError("IMAGE_INVALID", `${file} is not a readable erofs image: ${why}`, {
    location: { file },
    hint: "check the image with fsck.erofs",
  });
}
