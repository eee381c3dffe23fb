// Test-only helpers: seeded test images, openssl keys, and a minimal protobuf/CrAU reader independent of src/.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** A seeded image: 1 MiB chunks alternating compressible text/zeros and random bytes, plus a 12 KiB tail. */
export function makeImage(path: string, mib: number, seed: number): Buffer {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const parts: Buffer[] = [];
  for (let i = 0; i < mib; i++) {
    const b = Buffer.alloc(1 << 20);
    if (i % 2 === 1) for (let j = 0; j < b.length; j += 4) b.writeUInt32LE(rnd(), j);
    else b.write(`chunk ${i} seed ${seed} `.repeat(40000).slice(0, 1 << 20));
    parts.push(b);
  }
  parts.push(Buffer.alloc(12288, 7));
  const img = Buffer.concat(parts);
  writeFileSync(path, img);
  return img;
}

export function genRsa(dir: string, name: string): { priv: string; pub: string } {
  const priv = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  execFileSync(
    "openssl",
    ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", priv],
    { stdio: "ignore" },
  );
  execFileSync("openssl", ["pkey", "-in", priv, "-pubout", "-out", pub], { stdio: "ignore" });
  return { priv, pub };
}

// ---- a minimal protobuf wire reader (varint, length-delimited), written from the wire format spec ----
export type Fields = Map<number, Array<bigint | Buffer>>;

export function readFields(buf: Buffer): Fields {
  const out: Fields = new Map();
  let p = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[p++];
      if (byte === undefined) throw new Error("truncated varint");
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let val: bigint | Buffer;
    if (wire === 0) val = varint();
    else if (wire === 2) {
      const len = Number(varint());
      val = buf.subarray(p, p + len);
      p += len;
    } else throw new Error(`unexpected wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push(val);
    out.set(field, list);
  }
  return out;
}

export const one = (f: Fields, n: number) => f.get(n)?.[0];
export const all = (f: Fields, n: number) => f.get(n) ?? [];

export interface DecodedOp {
  type: number;
  offset: number;
  length: number;
  extents: Array<{ start: bigint; blocks: bigint }>;
  hash: Buffer | undefined;
}

export function decodeOp(b: Buffer): DecodedOp {
  const f = readFields(b);
  return {
    type: Number(one(f, 1) ?? 0n),
    offset: Number(one(f, 2) ?? 0n),
    length: Number(one(f, 3) ?? 0n),
    extents: all(f, 6).map((e) => {
      const x = readFields(e as Buffer);
      return { start: one(x, 1) as bigint, blocks: one(x, 2) as bigint };
    }),
    hash: one(f, 8) as Buffer | undefined,
  };
}
