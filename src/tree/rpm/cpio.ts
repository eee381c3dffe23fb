// Streaming cpio reader for RPM payloads: newc ("070701"), crc ("070702") and rpm's stripped large-file form ("07070X").

/** One member header. For the stripped form only `index` (into the header's file list) is known. */
export interface CpioEntry {
  readonly name: string;
  readonly mode: number;
  readonly ino: number;
  readonly nlink: number;
  readonly size: number;
  readonly rdevMajor: number;
  readonly rdevMinor: number;
  /** Stripped form: the index of the file in the package header; its size comes from there. */
  readonly index?: number;
}

/** The data of the current member, read at most once; whatever is not read is skipped afterwards. */
export interface CpioData {
  /** Pass the data to `write` chunk by chunk (backpressure: each write is awaited). */
  copyTo(write: (chunk: Buffer) => Promise<void>): Promise<void>;
  /** The whole data as a buffer; refuses more than `limit` bytes. */
  read(limit: number): Promise<Buffer>;
}

export class CpioError extends Error {}

/** Pull-based reader over a stream of chunks that keeps track of the absolute offset. */
class ByteReader {
  readonly #it: AsyncIterator<unknown>;
  #buf: Buffer = Buffer.alloc(0);
  offset = 0;

  constructor(input: AsyncIterable<unknown>) {
    this.#it = input[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    const r = await this.#it.next();
    if (r.done) return false;
    const chunk = r.value as Buffer;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    return true;
  }

  async exact(n: number, what: string): Promise<Buffer> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) throw new CpioError(`the payload ends inside ${what} (truncated)`);
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Hand `n` bytes to `sink` in the chunks they arrive in. */
  async stream(n: number, what: string, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill()))
        throw new CpioError(`the payload ends inside ${what}: ${n - left} of ${n} bytes present (truncated)`);
      const take = Math.min(left, this.#buf.length);
      const chunk = this.#buf.subarray(0, take);
      this.#buf = this.#buf.subarray(take);
      this.offset += take;
      left -= take;
      await sink(chunk);
    }
  }

  async align(to: number, what: string): Promise<void> {
    const pad = (to - (this.offset % to)) % to;
    if (pad > 0) await this.exact(pad, what);
  }

  async close(): Promise<void> {
    await this.#it.return?.();
  }
}

const hex = (b: Buffer, i: number) => {
  const s = b.toString("latin1", i * 8, i * 8 + 8);
  if (!/^[0-9a-fA-F]{8}$/.test(s))
    throw new CpioError(`header field ${JSON.stringify(s)} is not hexadecimal`);
  return parseInt(s, 16);
};

/** Longest member name accepted (PATH_MAX). */
const MAX_NAME = 4096;

/**
 * Read every member of a cpio stream and call `onEntry` with its header and data. `sizeOf(index)` gives
 * the data size of a stripped-form member. Stops at the "TRAILER!!!" member; a stream that ends before
 * it, or a malformed header, throws CpioError.
 */
export async function readCpio(
  input: AsyncIterable<unknown>,
  onEntry: (entry: CpioEntry, data: CpioData) => Promise<void>,
  sizeOf: (index: number) => number | undefined,
): Promise<void> {
  const r = new ByteReader(input);
  try {
    for (;;) {
      await r.align(4, "the padding before a member header");
      const magic = (await r.exact(6, "a member header")).toString("latin1");
      let entry: CpioEntry;
      if (magic === "07070X") {
        const index = hex(await r.exact(8, "a stripped member header"), 0);
        await r.align(4, "a stripped member header");
        const size = sizeOf(index);
        if (size === undefined)
          throw new CpioError(`stripped member refers to file #${index}, which the header does not list`);
        entry = { name: "", mode: 0, ino: 0, nlink: 1, size, rdevMajor: 0, rdevMinor: 0, index };
      } else if (magic === "070701" || magic === "070702") {
        const h = await r.exact(104, "a member header");
        const nameSize = hex(h, 11);
        if (nameSize < 1 || nameSize > MAX_NAME + 1)
          throw new CpioError(`member name size ${nameSize} is not between 1 and ${MAX_NAME + 1}`);
        const raw = await r.exact(nameSize, "a member name");
        if (raw[nameSize - 1] !== 0) throw new CpioError("member name is not NUL-terminated");
        const name = raw.toString("utf8", 0, nameSize - 1);
        await r.align(4, "the padding after a member name");
        // c_ino, c_mode, c_uid, c_gid, c_nlink, c_mtime, c_filesize, c_devmajor, c_devminor, c_rdevmajor,
        // c_rdevminor, c_namesize, c_check: owners and times are not used (owners are root, times the epoch).
        entry = {
          name,
          ino: hex(h, 0),
          mode: hex(h, 1),
          nlink: hex(h, 4),
          size: hex(h, 6),
          rdevMajor: hex(h, 9),
          rdevMinor: hex(h, 10),
        };
        if (name === "TRAILER!!!") return;
      } else {
        throw new CpioError(
          `bad member magic ${JSON.stringify(magic)} at payload offset ${r.offset - 6} (expected 070701)`,
        );
      }
      let consumed = false;
      const what = `the data of ${entry.name || `file #${entry.index}`}`;
      const data: CpioData = {
        copyTo: async (write) => {
          consumed = true;
          await r.stream(entry.size, what, write);
        },
        read: async (limit) => {
          consumed = true;
          if (entry.size > limit)
            throw new CpioError(`${what} has ${entry.size} bytes (at most ${limit} expected)`);
          return Buffer.from(await r.exact(entry.size, what));
        },
      };
      await onEntry(entry, data);
      if (!consumed) await r.stream(entry.size, what, async () => undefined);
    }
  } finally {
    await r.close();
  }
}
