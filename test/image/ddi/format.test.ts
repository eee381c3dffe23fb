// DDI building blocks against independent tools: veritysetup, openssl, systemd-id128 (262), and repart's derivations.
import { execa } from "execa";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../../scripts/roots.js";
import { crc32, parseGpt, renderGpt, GPT_HEAD_BYTES, GPT_TAIL_BYTES } from "../../../src/image/ddi/gpt.js";
import { signDetached, verifyDetached } from "../../../src/image/ddi/pkcs7.js";
import {
  diskUuid,
  gptToUuid,
  partitionUuidFromSeed,
  uuidToGpt,
  veritySalt,
  verityUuid,
} from "../../../src/image/ddi/seed.js";
import { parseSignaturePartition, signaturePartition } from "../../../src/image/ddi/signature.js";
import { partitionLabel, PARTITION_TYPES } from "../../../src/image/ddi/types.js";
import { digestPieces } from "../../../src/image/ddi/parallel-hash.js";
import {
  renderHashDevice,
  treeFromDigests,
  VerityHasher,
  hashDeviceSize,
} from "../../../src/image/ddi/verity.js";
import { needRoot, needTools } from "../../helpers/tools.js";
import { makeKeys, runInRoot, scratch, type Keys } from "./helpers.js";
import { opensslVerify } from "./tools.js";

let dir: string;
let keys: Keys;

beforeAll(async () => {
  needRoot();
  await needTools("veritysetup", "openssl");
  dir = await scratch("sysextkit-ddi-format-");
  keys = await makeKeys(join(dir, "keys"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("derivations from the seed, as systemd-repart makes them", () => {
  // Seen in a real `systemd-repart --make-ddi=sysext --seed=00000000-0000-0000-0000-000000000001` (257 and 262).
  const seed = Buffer.from("00000000000000000000000000000001", "hex");
  it("verity salt, superblock UUID, disk GUID and signature partition UUID", () => {
    expect(veritySalt(seed).toString("hex")).toBe(
      "c6f538a54e0a6a2e337ecb253f8c92558bc7ebf8a627952a85389c167fb20064",
    );
    expect(verityUuid(seed)).toBe("f1aa09df-0eb9-4154-b03c-4ff907a9c448");
    expect(diskUuid(seed)).toBe("5604b68e-37df-48a8-a451-502e27e8ed09");
    expect(partitionUuidFromSeed(seed, PARTITION_TYPES["x86-64"]!["root-verity-sig"])).toBe(
      "b4e6b8a3-d457-4981-a150-4bd18ebfeeba",
    );
  });
  it("GUIDs are stored mixed-endian", () => {
    const g = uuidToGpt("5604b68e-37df-48a8-a451-502e27e8ed09");
    expect(g.toString("hex")).toBe("8eb60456df37a848a451502e27e8ed09");
    expect(gptToUuid(g)).toBe("5604b68e-37df-48a8-a451-502e27e8ed09");
  });
});

describe("partition types", () => {
  it("match systemd 262's own table (systemd-id128 show) for every architecture", async () => {
    const r = await runInRoot(await ensureRoot("sid-tools"), [], "systemd-id128 show");
    expect(r.exitCode).toBe(0);
    const known = new Map(
      r.stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length === 2)
        .map(([n, id]) => [n!, id!]),
    );
    const compact = (u: string) => u.replace(/-/g, "");
    for (const [arch, types] of Object.entries(PARTITION_TYPES)) {
      for (const role of ["root", "root-verity", "root-verity-sig"] as const) {
        const label = partitionLabel(arch as never, role);
        expect(known.get(label), `${label}`).toBe(compact(types![role]));
      }
    }
  });
});

describe("dm-verity hash tree", () => {
  it.for([1, 2, 128, 129, 300, 16385])(
    "%i data blocks: byte for byte what veritysetup format writes",
    async (blocks) => {
      const data = Buffer.alloc(blocks * 4096);
      for (let i = 0; i < data.length; i += 97) data[i] = (i / 97) & 0xff;
      const file = join(dir, `data-${blocks}`);
      await writeFile(file, data);
      const salt = veritySalt(Buffer.from(`seed-${blocks}`.padEnd(16, "x")));
      const uuid = "f1aa09df-0eb9-4154-b03c-4ff907a9c448";
      const h = new VerityHasher(salt);
      // Uneven chunks: the hasher must not care how the stream is cut.
      for (let o = 0; o < data.length; o += 10_000)
        h.update(data.subarray(o, Math.min(o + 10_000, data.length)));
      const tree = h.finish();
      const ours = renderHashDevice({ salt, uuid }, tree);
      expect(ours.length).toBe(hashDeviceSize(blocks));
      const hashFile = join(dir, `hash-${blocks}`);
      const r = await execa("veritysetup", [
        "format",
        "--salt",
        salt.toString("hex"),
        "--uuid",
        uuid,
        file,
        hashFile,
      ]);
      expect(/Root hash:\s+([0-9a-f]{64})/.exec(r.stdout)![1]).toBe(tree.rootHash.toString("hex"));
      expect((await readFile(hashFile)).equals(ours)).toBe(true);
      await execa("veritysetup", ["verify", file, hashFile, tree.rootHash.toString("hex")]);
    },
  );
});

describe("hashing on all cores", () => {
  it("gives the same digests on one thread and on several, at any offset", async () => {
    const file = join(dir, "pieces");
    const data = Buffer.alloc(40 << 20);
    for (let i = 0; i < data.length; i += 4093) data[i] = (i >> 12) & 0xff;
    await writeFile(file, data);
    const region = { path: file, offset: 1 << 20, size: (40 << 20) - (1 << 20) - 4096 * 3 };
    const salt = Buffer.alloc(32, 7);
    for (const mode of ["chunks", "blocks"] as const) {
      const one = await digestPieces(region, mode, salt, 1);
      expect((await digestPieces(region, mode, salt, 3)).equals(one)).toBe(true);
      if (mode === "blocks") {
        const h = new VerityHasher(salt);
        h.update(data.subarray(region.offset, region.offset + region.size));
        expect(treeFromDigests(salt, one).rootHash.equals(h.finish().rootHash)).toBe(true);
      }
    }
  });
});

describe("PKCS#7 root hash signatures", () => {
  it("RSA: byte for byte what `openssl smime -sign -noattr -binary` (repart's PKCS7_sign flags) writes", async () => {
    const content = join(dir, "roothash");
    await writeFile(content, "426298c8a2a5c98d4f94dc84fc86ba30857d9612e8ccdcc4fdd7a07568a5901d");
    const theirs = join(dir, "openssl.p7s");
    await execa("openssl", [
      "smime",
      "-sign",
      "-in",
      content,
      "-signer",
      keys.cert,
      "-inkey",
      keys.key,
      "-noattr",
      "-binary",
      "-md",
      "sha256",
      "-outform",
      "DER",
      "-out",
      theirs,
    ]);
    const cert = new X509Certificate(await readFile(keys.cert));
    const ours = signDetached(await readFile(content), createPrivateKey(await readFile(keys.key)), cert);
    expect(ours.equals(await readFile(theirs))).toBe(true);
  });
  it("ECDSA: openssl cms -verify accepts ours; we accept openssl's, with or without signed attributes", async () => {
    const content = join(dir, "roothash-ec");
    await writeFile(content, "00".repeat(32));
    const cert = new X509Certificate(await readFile(keys.ecCert));
    const ours = join(dir, "ours-ec.p7s");
    await writeFile(
      ours,
      signDetached(await readFile(content), createPrivateKey(await readFile(keys.ecKey)), cert),
    );
    const verified = await opensslVerify(ours, content, keys.ecCert);
    expect(verified.ok, verified.stderr).toBe(true);
    for (const extra of [["-noattr"], []]) {
      const theirs = join(dir, `theirs-${extra.length}.p7s`);
      await execa("openssl", [
        "cms",
        "-sign",
        "-binary",
        ...extra,
        "-in",
        content,
        "-signer",
        keys.ecCert,
        "-inkey",
        keys.ecKey,
        "-outform",
        "DER",
        "-out",
        theirs,
      ]);
      expect(verifyDetached(await readFile(theirs), await readFile(content), [cert]).ok).toBe(true);
      expect(verifyDetached(await readFile(theirs), Buffer.from("11".repeat(32)), [cert]).ok).toBe(false);
    }
  });
  it("a signature by another certificate is refused", async () => {
    const cert = new X509Certificate(await readFile(keys.cert));
    const other = new X509Certificate(await readFile(keys.otherCert));
    const sig = signDetached(Buffer.from("ab"), createPrivateKey(await readFile(keys.key)), cert);
    const v = verifyDetached(sig, Buffer.from("ab"), [other]);
    expect(v.ok).toBe(false);
    expect(v.ok ? "" : v.reason).toMatch(/not a trusted certificate/);
  });
});

describe("signature partition JSON", () => {
  it("rootHash, certificateFingerprint, signature in repart's order, no newline, NUL-padded to 16 KiB", async () => {
    const cert = new X509Certificate(await readFile(keys.cert));
    const rootHash = Buffer.alloc(32, 0xab);
    const part = signaturePartition(rootHash, cert, Buffer.from([1, 2, 3]));
    expect(part.length).toBe(16384);
    const text = part.subarray(0, part.indexOf(0)).toString();
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      "rootHash",
      "certificateFingerprint",
      "signature",
    ]);
    expect(text).not.toContain("\n");
    const { stdout } = await execa("openssl", [
      "x509",
      "-in",
      keys.cert,
      "-noout",
      "-fingerprint",
      "-sha256",
    ]);
    const fp = stdout.split("=")[1]!.replace(/:/g, "").toLowerCase();
    expect(JSON.parse(text)).toEqual({
      rootHash: "ab".repeat(32),
      certificateFingerprint: fp,
      signature: "AQID",
    });
    expect(parseSignaturePartition(part)).toMatchObject({
      rootHash: "ab".repeat(32),
      certificateFingerprint: fp,
    });
    expect(parseSignaturePartition(Buffer.alloc(16384))).toBe("the signature partition is empty");
  });
});

describe("GPT", () => {
  it("renders and parses back; a flipped byte in either copy is reported", () => {
    const layout = {
      diskUuid: "5604b68e-37df-48a8-a451-502e27e8ed09",
      diskSize: 8 << 20,
      firstUsable: 1 << 20,
      partitions: [
        {
          typeUuid: PARTITION_TYPES["x86-64"]!.root,
          uuid: "247e0ae0-7939-457a-ef4e-9d0cc4b05e1e",
          offset: 1 << 20,
          size: 4 << 20,
          attributes: 1n << 60n,
          name: "root-x86-64",
        },
      ],
    };
    const { head, tail } = renderGpt(layout);
    expect(head.length).toBe(GPT_HEAD_BYTES);
    expect(tail.length).toBe(GPT_TAIL_BYTES);
    expect(parseGpt(head, tail, layout.diskSize)).toEqual({ layout, problems: [] });
    const bad = Buffer.from(head);
    bad[1024 + 60] = bad[1024 + 60]! ^ 1;
    expect(parseGpt(bad, tail, layout.diskSize).problems.join("; ")).toMatch(/entries CRC32 mismatch/);
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
  });
});
