// Streams a Tree as a reproducible tar archive (root owners, one epoch, PAX xattrs) with backpressure.
import { once } from "node:events";
import { closeSync, openSync, readSync } from "node:fs";
import { Readable, type Writable } from "node:stream";
import { pack as tarPack, type Header as TarHeader, type Pack } from "tar-stream";
import { SysextError } from "../errors.js";
import type { Tree } from "../tree/tree.js";
import type { FileEntry, TreeEntry } from "../tree/types.js";
import { BufferPool } from "./buffer-pool.js";

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
  // tar-stream's pack is a streamx stream; Readable.from pulls from it on demand (backpressure kept).
  return Readable.from(packTree(tree, opts, undefined) as AsyncIterable<Buffer>, { objectMode: false });
}

/**
 * Write the tar stream of `tree` (as treeToTar) into `dest`, e.g. mksquashfs's stdin, and end it. File
 * contents are read into a few reused buffers, each reused once `dest` has written it: the build process
 * stays at a flat size instead of leaving every file's buffer to the garbage collector.
 */
export async function writeTreeTar(tree: Tree, dest: Writable, opts: TarOptions): Promise<void> {
  const pool = new BufferPool();
  const pack = packTree(tree, opts, pool);
  let failed: Error | undefined;
  const onError = (e: Error) => (failed ??= e);
  dest.on("error", onError);
  try {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      if (failed) throw failed;
      if (!dest.write(chunk, () => pool.release(chunk))) await drained(dest);
    }
    await new Promise<void>((resolve, reject) => dest.end(() => (failed ? reject(failed) : resolve())));
  } catch (e) {
    pack.destroy();
    throw e;
  } finally {
    dest.off("error", onError);
  }
}

/** Until `dest` wants more data; rejects when it fails or closes first. */
function drained(dest: Writable): Promise<void> {
  if (dest.destroyed) return Promise.reject(dest.errored ?? new Error("the output was closed early"));
  return new Promise((resolve, reject) => {
    const done = (e?: Error | null) => {
      dest.off("drain", onDrain).off("error", done).off("close", onClose);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(dest.errored ?? new Error("the output was closed early"));
    dest.on("drain", onDrain).on("error", done).on("close", onClose);
  });
}

function packTree(tree: Tree, opts: TarOptions, pool: BufferPool | undefined): Pack {
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
      await writeEntry(pack, entry, mtime, counter, pool);
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack;
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

async function writeEntry(
  pack: Pack,
  entry: TreeEntry,
  mtime: Date,
  counter: Counter,
  pool: BufferPool | undefined,
): Promise<void> {
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
      return addFile(pack, entry, { ...h, type: "file", size: entry.size }, counter, pool);
  }
}

function addVoid(pack: Pack, h: Header): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(h, (err) => (err ? reject(err) : resolve()));
  });
}

/** Files up to this size are read with one call and handed to tar-stream as a buffer (much less overhead). */
const SMALL_FILE = 1 << 20;

async function addFile(
  pack: Pack,
  entry: FileEntry,
  h: Header,
  counter: Counter,
  pool: BufferPool | undefined,
): Promise<void> {
  if (entry.size <= SMALL_FILE) {
    let data: Buffer;
    try {
      data = readSmall(entry, pool);
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
  packed.catch(() => undefined); // awaited below
  try {
    await writePieces(entry, sink!, packed, counter, pool);
    sink!.end();
    await packed;
  } catch (e) {
    sink!.destroy();
    throw asIoError(entry, e);
  }
}

/** A large file's content into its entry, 1 MiB at a time with backpressure. */
async function writePieces(
  entry: FileEntry,
  sink: Writable,
  packed: Promise<void>,
  counter: Counter,
  pool: BufferPool | undefined,
): Promise<void> {
  const c = entry.content;
  if (c.kind === "bytes") {
    if (c.data.byteLength !== entry.size) throw sizeError(entry, String(c.data.byteLength));
    sink.write(Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength));
    counter.done += c.data.byteLength;
    counter.onBytes?.(counter.done);
    return;
  }
  const fd = openSync(c.path, "r");
  try {
    let done = 0;
    while (done < c.size) {
      const want = Math.min(SMALL_FILE, c.size - done);
      const buf = pool ? pool.take(want) : Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, c.offset + done + got);
        if (n === 0) throw sizeError(entry, String(done + got));
        got += n;
      }
      done += got;
      counter.done += got;
      counter.onBytes?.(counter.done);
      if (!sink.write(buf)) await Promise.race([once(sink, "drain"), packed]);
    }
    if (done !== entry.size) throw sizeError(entry, String(done));
  } finally {
    closeSync(fd);
  }
}

/**
 * Read a small file's whole content range, checking it still has exactly the recorded size. Synchronous
 * on purpose: one open/read/close per small file without thread-pool round trips keeps the tar producer
 * cheap, so mksquashfs keeps both cores for compression.
 */
function readSmall(entry: FileEntry, pool: BufferPool | undefined): Buffer {
  const c = entry.content;
  if (c.kind === "bytes") {
    const data = Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength);
    if (data.length !== entry.size) throw sizeError(entry, String(data.length));
    return data;
  }
  const fd = openSync(c.path, "r");
  try {
    const want = c.size;
    const data = pool ? pool.take(want) : Buffer.allocUnsafe(want);
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
