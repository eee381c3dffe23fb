// CrAU payloads: decoded by an independent reader, signatures checked by openssl, tampering rejected.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCompressedPayload,
  createPayload,
  verifyPayload,
  type PayloadResult,
} from "../../src/payload/index.js";
import { needTools } from "../helpers/tools.js";
import { all, decodeOp, genRsa, makeImage, one, readFields } from "./crau-helpers.js";

await needTools("bzip2", "openssl", "sha256sum", "zstd", "xz", "gzip");
let dir: string;
let image: string;
let img: Buffer;
let k1: { priv: string; pub: string };
let k2: { priv: string; pub: string };
let k3: { priv: string; pub: string };
let result: PayloadResult;

describe("createPayload", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "crau-test-"));
    image = join(dir, "oem-test.raw");
    img = makeImage(image, 5, 42);
    k1 = genRsa(dir, "k1");
    k2 = genRsa(dir, "k2");
    k3 = genRsa(dir, "k3");
    result = await createPayload({ image, keys: [k1.priv, k2.priv], outDir: join(dir, "out") });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes <NAME>.gz and a sha256sum file that sha256sum -c accepts", () => {
    expect(result.file).toBe(join(dir, "out", "oem-test.gz"));
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["oem-test.gz", "oem-test.gz.sha256"]);
    execFileSync("sha256sum", ["-c", "oem-test.gz.sha256"], { cwd: join(dir, "out"), stdio: "pipe" });
    const data = readFileSync(result.file);
    expect(result.sha256).toBe(createHash("sha256").update(data).digest("hex"));
    expect(result.sha1Base64).toBe(createHash("sha1").update(data).digest("base64"));
    expect(result.partition).toEqual({
      size: img.length,
      sha256: createHash("sha256").update(img).digest("hex"),
    });
  });

  it("decodes with an independent reader and reassembles to the image", () => {
    const data = readFileSync(result.file);
    expect(data.toString("latin1", 0, 4)).toBe("CrAU");
    expect(data.readBigUInt64BE(4)).toBe(1n);
    const msize = Number(data.readBigUInt64BE(12));
    const m = readFields(data.subarray(20, 20 + msize));
    expect(one(m, 3)).toBe(4096n);
    const sigOff = Number(one(m, 4));
    const sigSize = Number(one(m, 5));
    expect(20 + msize + sigOff + sigSize).toBe(data.length);
    const ops = all(m, 1).map((b) => decodeOp(b as Buffer));
    expect(ops.length).toBe(6);
    expect(new Set(ops.map((o) => o.type))).toEqual(new Set([0, 1]));
    const out = Buffer.alloc(img.length);
    let expectOffset = 0;
    for (const op of ops) {
      expect(op.offset).toBe(expectOffset); // contiguous blobs in operation order
      expectOffset += op.length;
      const blob = data.subarray(20 + msize + op.offset, 20 + msize + op.offset + op.length);
      expect(op.hash).toEqual(createHash("sha256").update(blob).digest());
      const raw =
        op.type === 1 ? execFileSync("bzip2", ["-d", "-c"], { input: blob, maxBuffer: 1 << 24 }) : blob;
      if (op.type === 1) expect(blob.length).toBeLessThan(raw.length);
      expect(op.extents.length).toBe(1);
      expect(Number(op.extents[0]!.blocks) * 4096).toBe(raw.length);
      raw.copy(out, Number(op.extents[0]!.start) * 4096);
    }
    expect(expectOffset).toBe(sigOff);
    expect(out.equals(img)).toBe(true);
    const noop = all(m, 2).map((b) => decodeOp(b as Buffer));
    expect(noop).toHaveLength(1);
    expect(noop[0]).toMatchObject({ type: 0, offset: sigOff, length: sigSize, hash: undefined });
    expect(noop[0]!.extents).toEqual([{ start: 2n ** 64n - 1n, blocks: BigInt(Math.ceil(sigSize / 4096)) }]);
    const info = readFields(one(m, 9) as Buffer);
    expect(one(info, 1)).toBe(BigInt(img.length));
    expect(one(info, 2)).toEqual(createHash("sha256").update(img).digest());
  });

  it("signatures verify with openssl pkeyutl over the signed range (versions 1 and 2)", () => {
    const data = readFileSync(result.file);
    const msize = Number(data.readBigUInt64BE(12));
    const m = readFields(data.subarray(20, 20 + msize));
    const sigOff = Number(one(m, 4));
    const signedEnd = 20 + msize + sigOff;
    const sigs = all(readFields(data.subarray(signedEnd)), 1).map((s) => readFields(s as Buffer));
    expect(data.length - signedEnd).toBe(528); // two 2048-bit signatures, as Flatcar's
    expect(sigs.map((s) => one(s, 1))).toEqual([1n, 2n]);
    const digestFile = join(dir, "digest.bin");
    writeFileSync(digestFile, createHash("sha256").update(data.subarray(0, signedEnd)).digest());
    [k1, k2].forEach((k, i) => {
      const sigFile = join(dir, `sig${i}.bin`);
      writeFileSync(sigFile, one(sigs[i]!, 2) as Buffer);
      const args = [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        k.pub,
        "-pkeyopt",
        "digest:sha256",
        "-in",
        digestFile,
        "-sigfile",
        sigFile,
      ];
      expect(execFileSync("openssl", args).toString()).toMatch(/Signature Verified Successfully/);
    });
  });

  it("verifyPayload accepts the payload and rejects a wrong key, flipped bytes and truncation", async () => {
    const good = await verifyPayload(result.file, { publicKeys: [k2.pub], expectedImage: image });
    expect(good.failures).toEqual([]);
    expect(good.ok).toBe(true);
    expect(good.signatures.map((s) => [s.version, s.validKeys])).toEqual([
      [1, []],
      [2, [k2.pub]],
    ]);
    expect((await verifyPayload(result.file, { publicKeys: [k3.pub] })).ok).toBe(false);
    const data = readFileSync(result.file);
    const msize = Number(data.readBigUInt64BE(12));
    for (const pos of [5, 20 + 10, 20 + msize + 100, data.length - 600]) {
      const bad = Buffer.from(data);
      bad[pos] = bad[pos]! ^ 0x01;
      const f = join(dir, `flip-${pos}.gz`);
      writeFileSync(f, bad);
      const r = await verifyPayload(f, { publicKeys: [k2.pub] });
      expect(r.ok, `flip at ${pos}`).toBe(false);
    }
    const trunc = join(dir, "trunc.gz");
    writeFileSync(trunc, data.subarray(0, data.length - 100));
    const t = await verifyPayload(trunc, { publicKeys: [k2.pub] });
    expect(t.ok).toBe(false);
    expect(t.failures.join("\n")).toMatch(/truncated/);
  });

  it("is byte-identical for the same inputs and keys", async () => {
    const again = await createPayload({
      image,
      keys: [k1.priv, k2.priv],
      outDir: join(dir, "out2"),
      workers: 1,
    });
    expect(readFileSync(again.file).equals(readFileSync(result.file))).toBe(true);
  });

  it("numbers signatures as Flatcar's payload_signer (one key: 2; three: 0, 1, 2) and refuses a fourth key", async () => {
    const versionsOf = (file: string) => {
      const d = readFileSync(file);
      const msize = Number(d.readBigUInt64BE(12));
      const signedEnd = 20 + msize + Number(one(readFields(d.subarray(20, 20 + msize)), 4));
      return all(readFields(d.subarray(signedEnd)), 1).map((s) => one(readFields(s as Buffer), 1));
    };
    const single = await createPayload({ image, keys: [k2.priv], outDir: join(dir, "one-key") });
    expect(versionsOf(single.file)).toEqual([2n]);
    const three = await createPayload({
      image,
      keys: [k1.priv, k2.priv, k3.priv],
      outDir: join(dir, "three-keys"),
    });
    expect(versionsOf(three.file)).toEqual([0n, 1n, 2n]);
    const v = await verifyPayload(three.file, { publicKeys: [k1.pub, k2.pub, k3.pub] });
    expect(v.failures).toEqual([]);
    expect(v.signatures.map((s) => [s.version, s.validKeys])).toEqual([
      [0, [k1.pub]],
      [1, [k2.pub]],
      [2, [k3.pub]],
    ]);
    const four = createPayload({
      image,
      keys: [k1.priv, k2.priv, k3.priv, k1.priv],
      outDir: join(dir, "four-keys"),
    });
    await expect(four).rejects.toMatchObject({ code: "USAGE", message: /4 signing keys/ });
    expect(existsSync(join(dir, "four-keys"))).toBe(false);
  });

  it("refuses an image whose size is not a multiple of 4096", async () => {
    const odd = join(dir, "odd.raw");
    writeFileSync(odd, Buffer.alloc(5000));
    await expect(
      createPayload({ image: odd, keys: [k1.priv], outDir: join(dir, "odd") }),
    ).rejects.toMatchObject({
      code: "PAYLOAD_INVALID",
    });
    expect(existsSync(join(dir, "odd", "odd.gz"))).toBe(false);
  });

  it("refuses EC, encrypted and unreadable keys, naming the key file", async () => {
    const ec = join(dir, "ec.pem");
    execFileSync("openssl", [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      ec,
    ]);
    const enc = join(dir, "enc.pem");
    execFileSync("openssl", ["pkey", "-in", k1.priv, "-aes256", "-passout", "pass:secret", "-out", enc]);
    for (const key of [ec, enc, join(dir, "missing.pem")]) {
      const p = createPayload({ image, keys: [key], outDir: join(dir, "badkey") });
      await expect(p).rejects.toMatchObject({ code: "KEY_INVALID", location: { file: key } });
    }
    await expect(createPayload({ image, keys: [enc], outDir: join(dir, "badkey") })).rejects.toThrow(
      /encrypted/,
    );
    expect(existsSync(join(dir, "badkey"))).toBe(false);
  });

  it("writes deterministic .raw.zst/.raw.xz/.raw.gz that decompress to the image", async () => {
    const tools = { zst: "zstd", xz: "xz", gz: "gzip" } as const;
    for (const kind of ["zst", "xz", "gz"] as const) {
      const a = await createCompressedPayload(image, join(dir, "c1"), kind);
      expect(a.file).toBe(join(dir, "c1", `oem-test.raw.${kind}`));
      const b = await createCompressedPayload(image, join(dir, "c2"), kind);
      expect(readFileSync(a.file).equals(readFileSync(b.file))).toBe(true);
      const back = execFileSync(tools[kind], ["-d", "-c", a.file], { maxBuffer: 1 << 26 });
      expect(back.equals(img)).toBe(true);
    }
    copyFileSync(image, join(dir, "noext"));
    expect((await createCompressedPayload(join(dir, "noext"), join(dir, "c3"), "gz")).file).toMatch(
      /noext\.raw\.gz$/,
    );
  });
});
