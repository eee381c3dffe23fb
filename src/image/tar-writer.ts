// Streams a Tree as a reproducible tar archive (root owners, one epoch, PAX xattrs) with backpressure.
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack as tarPack, type Header as TarHeader, type Pack } from "tar-stream";
import { SysextError } from "../errors.js";
import type { Tree } from "../tree/tree.js";
import type { FileEntry, TreeEntry } from "../tree/types.js";

type Header = Partial<TarHeader> & { name: string };

export interface TarOptions {
  /** The one timestamp every entry carries (seconds since 1970). */
  readonly epoch: number;
  /** Called with the number of content bytes streamed so far, after each chunk. */
  readonly onBytes?: (bytesDone: number) => void;
}

/** tar-stream encodes mtime through a signed 32-bit integer, so times after 2038-01-19 cannot be written. */
const MAX_TAR_TIME = 0x7fffffff;

/**
 * A tar stream of all entries of `tree` in tree order. Owners are 0/0 "root", every mtime is `epoch`,
 * modes are kept, xattrs become PAX `SCHILY.xattr.<name>` records (what GNU tar and mksquashfs -tar read).
 * Every further name of a hard-link group is a hard-link member naming the group's first path.
 * File contents are read lazily, one entry at a time, so memory stays bounded whatever the tree size.
 * A file whose source yields a different number of bytes than its entry says fails the stream with IO.
 */
export function treeToTar(tree: Tree, opts: TarOptions): Readable {
  if (!Number.isInteger(opts.epoch) || opts.epoch < 0 || opts.epoch > MAX_TAR_TIME) {
    throw new SysextError("USAGE", `epoch ${opts.epoch} is not a valid timestamp for a tar archive`, {
      hint: "use a whole number of seconds from 0 to 2147483647 (SOURCE_DATE_EPOCH)",
    });
  }
  const pack = tarPack();
  const mtime = new Date(opts.epoch * 1000);
  const counter = { done: 0, onBytes: opts.onBytes };
  void (async () => {
    for (const entry of tree.entries) {
      if (pack.destroyed) return;
      await writeEntry(pack, entry, mtime, counter);
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  // tar-stream's pack is a streamx stream; Readable.from pulls from it on demand (backpressure kept).
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

function header(entry: TreeEntry, mtime: Date): Header {
  const h: Header = {
    name: entry.type === "dir" ? `${entry.path}/` : entry.path,
    mode: entry.mode & 0o7777,
    uid: 0,
    gid: 0,
    uname: "root",
    gname: "root",
    mtime,
  };
  const xattrs = entry.xattrs ? Object.keys(entry.xattrs).sort() : [];
  if (xattrs.length > 0) {
    const pax: Record<string, string> = {};
    for (const name of xattrs) {
      if (/[\n=]/.test(name)) {
        throw new SysextError(
          "FORMAT_UNSUPPORTED",
          `xattr name ${JSON.stringify(name)} on ${entry.path} cannot be stored`,
          {
            hint: "xattr names must not contain '=' or newlines",
          },
        );
      }
      const value = entry.xattrs![name]!;
      // Text goes into SCHILY.xattr records; raw bytes (which PAX text records cannot carry through
      // tar-stream) into LIBARCHIVE.xattr records, base64 without padding (what mksquashfs 4.5 decodes).
      if (typeof value === "string") pax[`SCHILY.xattr.${name}`] = value;
      else
        pax[`LIBARCHIVE.xattr.${encodeURIComponent(name)}`] = Buffer.from(value)
          .toString("base64")
          .replace(/=+$/, "");
    }
    h.pax = pax;
  }
  return h;
}

interface Counter {
  done: number;
  readonly onBytes: ((bytesDone: number) => void) | undefined;
}

async function writeEntry(pack: Pack, entry: TreeEntry, mtime: Date, counter: Counter): Promise<void> {
  const h = header(entry, mtime);
  switch (entry.type) {
    case "dir":
      return addVoid(pack, { ...h, type: "directory" });
    case "symlink":
      return addVoid(pack, { ...h, type: "symlink", linkname: entry.target });
    case "char":
    case "block":
      return addVoid(pack, {
        ...h,
        type: entry.type === "char" ? "character-device" : "block-device",
        devmajor: entry.devMajor ?? 0,
        devminor: entry.devMinor ?? 0,
      });
    case "fifo":
      return addVoid(pack, { ...h, type: "fifo" });
    case "socket":
      throw new SysextError(
        "FORMAT_UNSUPPORTED",
        `${entry.path} (${entry.origin}) is a socket, which tar cannot carry`,
        {
          hint: "sockets are created at run time by the service that listens on them; remove it from the source",
        },
      );
    case "file":
      if (entry.link !== undefined && entry.link !== entry.path) {
        // The inode (content, mode, xattrs) came with the group's first name, earlier in the stream.
        const { pax: _inode, ...plain } = h;
        return addVoid(pack, { ...plain, type: "link", linkname: entry.link });
      }
      return addFile(pack, entry, { ...h, type: "file", size: entry.size }, counter);
  }
}

function addVoid(pack: Pack, h: Header): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(h, (err) => (err ? reject(err) : resolve()));
  });
}

/** Files up to this size are read with one call and handed to tar-stream as a buffer (much less overhead). */
const SMALL_FILE = 1 << 20;

async function addFile(pack: Pack, entry: FileEntry, h: Header, counter: Counter): Promise<void> {
  if (entry.size <= SMALL_FILE) {
    let data: Buffer;
    try {
      data = readSmall(entry);
    } catch (e) {
      throw asIoError(entry, e);
    }
    await new Promise<void>((resolve, reject) => {
      pack.entry({ ...h, size: data.length }, data, (err) =>
        err ? reject(asIoError(entry, err)) : resolve(),
      );
    });
    counter.done += data.length;
    counter.onBytes?.(counter.done);
    return;
  }
  let sink: Writable | undefined;
  const packed = new Promise<void>((resolve, reject) => {
    sink = pack.entry(h, (err) => (err ? reject(err) : resolve())) as unknown as Writable;
  });
  packed.catch(() => undefined); // a failure is reported through the pipeline below
  try {
    await pipeline(contentStream(entry), countingCheck(entry, counter), sink!);
    await packed;
  } catch (e) {
    throw asIoError(entry, e);
  }
}

/**
 * Read a small file's whole content range, checking it still has exactly the recorded size. Synchronous
 * on purpose: one open/read/close per small file without thread-pool round trips keeps the tar producer
 * cheap, so mksquashfs keeps both cores for compression.
 */
function readSmall(entry: FileEntry): Buffer {
  const c = entry.content;
  if (c.kind === "bytes") {
    const data = Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength);
    if (data.length !== entry.size) throw sizeError(entry, String(data.length));
    return data;
  }
  const fd = openSync(c.path, "r");
  try {
    const want = c.size;
    const data = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, data, got, want - got, c.offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== entry.size) throw sizeError(entry, String(got));
    return data;
  } finally {
    closeSync(fd);
  }
}

function contentStream(entry: FileEntry): Readable {
  const c = entry.content;
  if (c.kind === "bytes")
    return Readable.from([Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)]);
  if (c.size === 0) return Readable.from([]);
  return createReadStream(c.path, { start: c.offset, end: c.offset + c.size - 1, highWaterMark: 1 << 20 });
}

/** Passes data through, failing if the source yields more or fewer bytes than the entry's size. */
function countingCheck(entry: FileEntry, counter: Counter): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > entry.size) return cb(sizeError(entry, `more than ${entry.size}`));
      counter.done += chunk.length;
      counter.onBytes?.(counter.done);
      cb(null, chunk);
    },
    flush(cb) {
      cb(n === entry.size ? null : sizeError(entry, String(n)));
    },
  });
}

function sizeError(entry: FileEntry, actual: string): SysextError {
  const src = entry.content.kind === "file" ? ` (read from ${entry.content.path})` : "";
  return new SysextError(
    "IO",
    `${entry.path} from ${entry.origin}${src} has ${actual} bytes, expected ${entry.size}`,
    {
      hint: "the source changed while building; rebuild, and do not modify sources during a build",
    },
  );
}

function asIoError(entry: FileEntry, e: unknown): SysextError {
  if (e instanceof SysextError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new SysextError("IO", `cannot read ${entry.path} from ${entry.origin}: ${msg}`, {
    cause: e,
    hint: "check that the source file still exists and is readable",
  });
}
