// verifyPayload on crafted defects: each re-signed payload carries exactly one defect, which must be named.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPayload, verifyPayload } from "../../src/payload/index.js";
import { needTools } from "../helpers/tools.js";
import { genRsa, makeImage, rewritePayload } from "./crau-helpers.js";

await needTools("bzip2", "openssl");
let dir: string;
let image: string;
let data: Buffer;
let k1: { priv: string; pub: string };
let k2: { priv: string; pub: string };
type Obj = Record<string, unknown>;
const ops = (m: Obj) => m.partition_operations as Obj[];

/** Write a rewritten payload and verify it with the real key. */
async function verifyRewritten(label: string, mutate: (m: Obj) => void, resign = true) {
  const file = join(dir, `${label}.gz`);
  writeFileSync(file, rewritePayload(data, mutate, resign ? [k1.priv, k2.priv] : []));
  return verifyPayload(file, { publicKeys: [k2.pub] });
}

describe("verifyPayload names each defect", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "crau-verify-"));
    image = join(dir, "oem-v.raw");
    makeImage(image, 3, 7);
    k1 = genRsa(dir, "k1");
    k2 = genRsa(dir, "k2");
    const r = await createPayload({ image, keys: [k1.priv, k2.priv], outDir: dir });
    data = readFileSync(r.file);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts a payload rewritten without change (the tamperer itself is sound)", async () => {
    const r = await verifyRewritten("same", () => undefined);
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(readFileSync(join(dir, "same.gz")).equals(data)).toBe(true);
  });

  it("rejects a manifest naming a wrong partition hash or size", async () => {
    const hash = await verifyRewritten("part-hash", (m) => {
      (m.new_partition_info as Obj).hash = createHash("sha256").update("another image").digest();
    });
    expect(hash.ok).toBe(false);
    expect(hash.failures).toHaveLength(1);
    expect(hash.failures[0]).toMatch(/reassembled image .* differs from new_partition_info/);
    const size = await verifyRewritten("part-size", (m) => {
      (m.new_partition_info as Obj).size = String(readFileSync(image).length + 4096);
    });
    expect(size.ok).toBe(false);
    expect(size.failures).toHaveLength(1);
    expect(size.failures[0]).toMatch(/differs from new_partition_info/);
  });

  it("rejects a wrong or missing blob hash, naming the operation", async () => {
    const wrong = await verifyRewritten("blob-hash", (m) => {
      ops(m)[1]!.data_sha256_hash = createHash("sha256").update("x").digest();
    });
    expect(wrong.failures).toEqual(["operation 1: blob SHA-256 does not match data_sha256_hash"]);
    const missing = await verifyRewritten("blob-nohash", (m) => {
      delete ops(m)[0]!.data_sha256_hash;
    });
    expect(missing.failures).toEqual(["operation 0: data_sha256_hash missing"]);
  });

  it("rejects missing signature fields and a missing signature noop operation", async () => {
    const unsigned = await verifyRewritten(
      "unsigned",
      (m) => {
        delete m.signatures_offset;
        delete m.signatures_size;
        delete m.noop_operations;
        ops(m)[2]!.data_sha256_hash = createHash("sha256").update("y").digest();
      },
      false,
    );
    expect(unsigned.ok).toBe(false);
    // Each failure is named: the missing signature fields do not hide the bad blob.
    expect(unsigned.failures).toEqual([
      expect.stringMatching(/signatures_offset\/signatures_size missing/),
      "operation 2: blob SHA-256 does not match data_sha256_hash",
    ]);
    const noSize = await verifyRewritten("nosize", (m) => {
      delete m.signatures_size;
    });
    expect(noSize.failures).toEqual([expect.stringMatching(/signatures_offset\/signatures_size missing/)]);
    const noNoop = await verifyRewritten("nonoop", (m) => {
      delete m.noop_operations;
    });
    expect(noNoop.failures).toEqual([
      "the signature noop operation is missing or does not describe the signature blob",
    ]);
  });

  it("rejects blobs out of operation order and operations with two extents, which readers refuse", async () => {
    const swapped = await verifyRewritten("swapped", (m) => {
      const list = ops(m);
      [list[0], list[1]] = [list[1]!, list[0]!];
    });
    expect(swapped.ok).toBe(false);
    expect(swapped.failures.length).toBeGreaterThan(0);
    for (const f of swapped.failures) expect(f).toMatch(/^operation [01]: data_offset \d+, expected \d+/);
    const split = await verifyRewritten("split", (m) => {
      const op = ops(m)[0]!;
      const ext = (op.dst_extents as Obj[])[0]!;
      const half = Number(ext.num_blocks) / 2;
      op.dst_extents = [
        { start_block: ext.start_block, num_blocks: String(half) },
        { start_block: String(Number(ext.start_block) + half), num_blocks: String(half) },
      ];
    });
    expect(split.failures).toEqual(["operation 0: 2 dst_extents; ue-rs requires exactly one"]);
  });

  it("rejects a flipped byte in the real signature, and a payload only the throwaway key verifies", async () => {
    const bad = Buffer.from(data);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 0x01;
    writeFileSync(join(dir, "sigflip.gz"), bad);
    const flipped = await verifyPayload(join(dir, "sigflip.gz"), { publicKeys: [k2.pub] });
    expect(flipped.ok).toBe(false);
    expect(flipped.failures).toEqual([
      `the version-2 signature (the one update_engine checks) does not verify with the trusted key ${k2.pub}`,
    ]);
    writeFileSync(join(dir, "orig.gz"), data);
    const throwaway = await verifyPayload(join(dir, "orig.gz"), { publicKeys: [k1.pub] });
    expect(throwaway.ok).toBe(false);
    expect(throwaway.failures).toEqual([
      expect.stringMatching(
        /does not verify with the trusted key .*k1\.pub\.pem \(that key validates the version-1 signature instead\)$/,
      ),
    ]);
    const unchecked = await verifyPayload(join(dir, "orig.gz"), { noSignatureCheck: true });
    expect(unchecked.ok).toBe(true);
    expect(unchecked.signatureCheck).toEqual({ checked: false });
    expect(unchecked.warnings).toEqual([expect.stringMatching(/^signatures were NOT checked/)]);
  });
});
