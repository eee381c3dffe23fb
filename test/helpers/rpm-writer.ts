// Test helper: hand-made RPM files (lead, signature header, header, gzip cpio payload) for hostile-input tests.
import { gzipSync } from "node:zlib";

export interface HandFile {
  path: string;
  /** st_mode with the file type, e.g. 0o100644, 0o040755, 0o120777. */
  mode: number;
  size: number;
  linkTo?: string;
  inode?: number;
}

export interface CpioMember {
  name: string;
  /** rpm's stripped form for large files: only this index into the header's file list is written. */
  stripped?: number;
  mode: number;
  data?: Buffer;
  /** Overrides the size written into the header (a lie about the data that follows). */
  size?: number;
  ino?: number;
  nlink?: number;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** A newc cpio archive of `members`, ended by TRAILER!!!. */
export function cpioNewc(members: readonly CpioMember[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  for (const m of [...members, { name: "TRAILER!!!", mode: 0 }]) {
    const data = m.data ?? Buffer.alloc(0);
    if ("stripped" in m && m.stripped !== undefined) {
      push(Buffer.from(`07070X${hex8(m.stripped)}`, "latin1"));
      push(Buffer.alloc(pad4(at)));
      push(data);
      push(Buffer.alloc(pad4(at)));
      continue;
    }
    const fields = [
      m.ino ?? 1,
      m.mode,
      0,
      0,
      m.nlink ?? 1,
      0,
      m.size ?? data.length,
      0,
      0,
      0,
      0,
      Buffer.byteLength(m.name) + 1,
      0,
    ];
    push(Buffer.from(`070701${fields.map(hex8).join("")}${m.name}\0`, "latin1"));
    push(Buffer.alloc(pad4(at)));
    push(data);
    push(Buffer.alloc(pad4(at)));
  }
  return Buffer.concat(parts);
}

type TagValue =
  { type: 4 | 3; values: number[] } | { type: 6; value: string } | { type: 8; values: string[] };

/** A header structure (with magic) from tags; entries sorted by tag, integers aligned. */
export function headerBytes(tags: ReadonlyMap<number, TagValue>): Buffer {
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let size = 0;
  for (const tag of [...tags.keys()].sort((a, b) => a - b)) {
    const v = tags.get(tag)!;
    const align = v.type === 4 ? 4 : v.type === 3 ? 2 : 1;
    const pad = (align - (size % align)) % align;
    if (pad) {
      data.push(Buffer.alloc(pad));
      size += pad;
    }
    let body: Buffer;
    let count: number;
    if (v.type === 4 || v.type === 3) {
      const w = v.type === 4 ? 4 : 2;
      body = Buffer.alloc(w * v.values.length);
      v.values.forEach((n, i) => (w === 4 ? body.writeUInt32BE(n, i * 4) : body.writeUInt16BE(n, i * 2)));
      count = v.values.length;
    } else if (v.type === 6) {
      body = Buffer.from(`${v.value}\0`);
      count = 1;
    } else {
      body = Buffer.from(v.values.map((s) => `${s}\0`).join(""));
      count = v.values.length;
    }
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0);
    e.writeUInt32BE(v.type, 4);
    e.writeUInt32BE(size, 8);
    e.writeUInt32BE(count, 12);
    index.push(e);
    data.push(body);
    size += body.length;
  }
  const intro = Buffer.alloc(16);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(intro);
  intro.writeUInt32BE(index.length, 8);
  intro.writeUInt32BE(size, 12);
  return Buffer.concat([intro, ...index, ...data]);
}

/** A complete .rpm: lead, a one-tag signature header (padded to 8), the header of `files`, a gzip payload. */
export function handMadeRpm(opts: { name?: string; files: readonly HandFile[]; cpio: Buffer }): Buffer {
  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead);
  lead.write(opts.name ?? "hostile", 10, "latin1");
  lead.writeUInt16BE(1, 76); // osnum
  lead.writeUInt16BE(5, 78); // signature type: header-style
  const sig = headerBytes(new Map([[1000, { type: 4, values: [0] }]]));
  const sigPad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  const dirs = [...new Set(opts.files.map((f) => f.path.slice(0, f.path.lastIndexOf("/") + 1)))];
  const h = new Map<number, TagValue>([
    [1000, { type: 6, value: opts.name ?? "hostile" }],
    [1001, { type: 6, value: "1.0" }],
    [1002, { type: 6, value: "1" }],
    [1022, { type: 6, value: "x86_64" }],
    [1044, { type: 6, value: "hostile-1.0-1.src.rpm" }],
    [1124, { type: 6, value: "cpio" }],
    [1125, { type: 6, value: "gzip" }],
  ]);
  if (opts.files.length > 0) {
    h.set(1028, { type: 4, values: opts.files.map((f) => f.size) });
    h.set(1030, { type: 3, values: opts.files.map((f) => f.mode) });
    h.set(1036, { type: 8, values: opts.files.map((f) => f.linkTo ?? "") });
    h.set(1096, { type: 4, values: opts.files.map((f, i) => f.inode ?? i + 1) });
    h.set(1116, {
      type: 4,
      values: opts.files.map((f) => dirs.indexOf(f.path.slice(0, f.path.lastIndexOf("/") + 1))),
    });
    h.set(1117, { type: 8, values: opts.files.map((f) => f.path.slice(f.path.lastIndexOf("/") + 1)) });
    h.set(1118, { type: 8, values: dirs });
  }
  return Buffer.concat([lead, sig, sigPad, headerBytes(h), gzipSync(opts.cpio)]);
}
