// Property tests of payload + verify: every single-byte flip is rejected; random images whose chunks end in
// \n, \r\n or \0 (the data execa used to cut short) always round-trip.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPayload, loadVerifyKey, verifyPayload } from "../../src/payload/index.js";
import { needTools } from "../helpers/tools.js";
import { genRsa } from "./crau-helpers.js";

await needTools("bzip2", "openssl");
const MiB = 1 << 20;
let dir: string;
let throwaway: { priv: string; pub: string };
let real: { priv: string; pub: string };

/** A seeded xorshift generator, so a failure can be replayed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** A chunk of `size` bytes that ends in `end`: text lines (compressible, REPLACE_BZ) or random bytes (REPLACE). */
function chunk(size: number, end: string, text: boolean, r: (n: number) => number): Buffer {
  const b = Buffer.alloc(size);
  if (text) {
    let line = "";
    for (let i = 0; i < size; i += line.length) {
      line = `line ${r(1e9)} of a text file with a few words in it\n`;
      b.write(line, i, "latin1");
    }
  } else for (let i = 0; i < size; i++) b[i] = r(256);
  b.write(end, size - end.length, "latin1");
  return b;
}

const flip = (data: Buffer, i: number) => {
  const b = Buffer.from(data);
  b[i] = b[i]! ^ 0xff;
  return b;
};

describe("payload properties", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "crau-property-"));
    throwaway = genRsa(dir, "throwaway");
    real = genRsa(dir, "real");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips random images whose chunks end in \\n, \\r\\n or \\0: 100% accepted", async () => {
    const r = rng(20261130);
    const endings = ["\n", "\r\n", "\0", "\n\n"];
    for (let n = 0; n < 10; n++) {
      const chunks = 1 + r(3);
      const tail = 4096 * (1 + r(8));
      const parts: Buffer[] = [];
      for (let c = 0; c < chunks; c++) {
        const size = c === chunks - 1 ? tail : MiB;
        parts.push(chunk(size, endings[r(endings.length)]!, r(3) > 0, r));
      }
      const image = join(dir, `img-${n}.raw`);
      writeFileSync(image, Buffer.concat(parts));
      const p = await createPayload({ image, keys: [throwaway.priv, real.priv], outDir: dir, name: `p${n}` });
      const v = await verifyPayload(p.file, { publicKeys: [throwaway.pub, real.pub], expectedImage: image });
      expect(v.failures, `image ${n}: ${chunks} chunk(s), REPLACE_BZ ${p.operations.replaceBz}`).toEqual([]);
      expect(v.ok).toBe(true);
    }
  });

  it("rejects every single-byte flip of the header, manifest, blobs and real-key signature: 100%", async () => {
    const keys = [await loadVerifyKey(throwaway.pub), await loadVerifyKey(real.pub)];
    // A REPLACE_BZ payload flipped at every byte; a REPLACE one (its 4 KiB blob is one incompressible
    // block) at every byte outside the blob and every 16th byte inside it.
    for (const [label, image, blobStride] of [
      [
        "REPLACE_BZ",
        Buffer.from("all work and no play makes jack a dull boy\n".repeat(200).slice(0, 8191) + "\n"),
        1,
      ],
      ["REPLACE", chunk(4096, "\n", false, rng(8)), 16],
    ] as const) {
      const img = join(dir, `flip-${label}.raw`);
      writeFileSync(img, image);
      const p = await createPayload({
        image: img,
        keys: [throwaway.priv, real.priv],
        outDir: dir,
        name: label,
      });
      rmSync(p.sha256File);
      const data = readFileSync(p.file);
      expect((await verifyPayload(p.file, { publicKeys: keys })).ok).toBe(true);
      expect(p.operations[label === "REPLACE" ? "replace" : "replaceBz"]).toBe(1);
      // [0, 20 + manifest) header and manifest, then the blob, then the throwaway's 264-byte Signature,
      // then the real key's (the last 264 bytes).
      const blobStart = 20 + Number(data.readBigUInt64BE(12));
      const signedEnd = data.length - 528;
      const positions = [
        ...Array.from({ length: blobStart }, (_, i) => i),
        ...Array.from({ length: signedEnd - blobStart }, (_, i) => blobStart + i).filter(
          (i) => (i - blobStart) % blobStride === 0 || i === signedEnd - 1,
        ),
        ...Array.from({ length: 264 }, (_, i) => data.length - 264 + i),
      ];
      const accepted: number[] = [];
      const file = join(dir, `flipped-${label}.gz`);
      for (const i of positions) {
        writeFileSync(file, flip(data, i));
        if ((await verifyPayload(file, { publicKeys: keys })).ok) accepted.push(i);
      }
      expect(accepted, `${label}: flips accepted (of ${positions.length})`).toEqual([]);
    }
  }, 600_000);
});
