// Test-only helpers: seeded images, openssl keys, a minimal protobuf/CrAU reader independent of src/, tamperers.
import { execFileSync } from "node:child_process";
import { sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { UPDATE_METADATA_PROTO } from "../../src/payload/proto.js";

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

// ---- crafting modified payloads (re-signed, so that only the intended defect remains) ----
type Obj = Record<string, unknown>;
const protoRoot = protobuf.parse(UPDATE_METADATA_PROTO, { keepCase: true }).root;
const ManifestType = protoRoot.lookupType("chromeos_update_engine.DeltaArchiveManifest");
const SignaturesType = protoRoot.lookupType("chromeos_update_engine.Signatures");

/**
 * Decode a payload's manifest, let `mutate` change it, and write header + new manifest + the original
 * blobs, signed again with `keys` (PEM private key files; same versions as before). Without keys the
 * result has no signature blob. uint64 fields are decimal strings in the object `mutate` sees.
 */
export function rewritePayload(data: Buffer, mutate: (m: Obj) => void, keys: readonly string[]): Buffer {
  const msize = Number(data.readBigUInt64BE(12));
  const m = ManifestType.toObject(ManifestType.decode(data.subarray(20, 20 + msize)), { longs: String });
  const sigOff = Number(m.signatures_offset);
  const blobs = data.subarray(20 + msize, 20 + msize + sigOff);
  const old = SignaturesType.toObject(SignaturesType.decode(data.subarray(20 + msize + sigOff))) as {
    signatures: Array<{ version: number }>;
  };
  mutate(m);
  const manifest = Buffer.from(ManifestType.encode(ManifestType.fromObject(m)).finish());
  const header = Buffer.alloc(20);
  header.write("CrAU", 0, "latin1");
  header.writeBigUInt64BE(1n, 4);
  header.writeBigUInt64BE(BigInt(manifest.length), 12);
  const signed = Buffer.concat([header, manifest, blobs]);
  if (keys.length === 0) return signed;
  const sigs = keys.map((k, i) => ({
    version: old.signatures[i]?.version,
    data: sign("sha256", signed, readFileSync(k)),
  }));
  return Buffer.concat([
    signed,
    SignaturesType.encode(SignaturesType.fromObject({ signatures: sigs })).finish(),
  ]);
}
