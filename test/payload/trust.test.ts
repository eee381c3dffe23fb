// The trusted key decides: a payload is valid only when its version-2 signature verifies with the real key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPayload, verifyPayload } from "../../src/payload/index.js";
import { UPDATE_METADATA_PROTO } from "../../src/payload/proto.js";
import { rejection } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { genRsa, makeImage } from "./crau-helpers.js";

await needTools("bzip2", "openssl");
const Signatures = protobuf
  .parse(UPDATE_METADATA_PROTO, { keepCase: true })
  .root.lookupType("chromeos_update_engine.Signatures");
let dir: string;
let data: Buffer;
let throwaway: { priv: string; pub: string };
let real: { priv: string; pub: string };

/** The payload with its Signatures message rewritten by `mutate` (the signed range is untouched). */
function withSignatures(label: string, mutate: (sigs: Array<{ version: number; data: Uint8Array }>) => void) {
  const msize = Number(data.readBigUInt64BE(12));
  const start = data.length - 528; // two 2048-bit signatures: a 528-byte Signatures message
  const msg = Signatures.toObject(Signatures.decode(data.subarray(start))) as {
    signatures: Array<{ version: number; data: Uint8Array }>;
  };
  mutate(msg.signatures);
  const blob = Buffer.from(Signatures.encode(Signatures.fromObject(msg)).finish());
  expect(blob.length, "same length, so only the signature changes").toBe(528);
  expect(msize).toBeGreaterThan(0);
  const file = join(dir, `${label}.gz`);
  writeFileSync(file, Buffer.concat([data.subarray(0, start), blob]));
  return file;
}

describe("the real (version-2) key decides", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "trust-test-"));
    makeImage(join(dir, "oem-t.raw"), 1, 5);
    throwaway = genRsa(dir, "throwaway");
    real = genRsa(dir, "real");
    const r = await createPayload({
      image: join(dir, "oem-t.raw"),
      keys: [throwaway.priv, real.priv],
      outDir: dir,
    });
    data = readFileSync(r.file);
    rmSync(`${r.file}.sha256`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a broken real-key signature is not accepted because the throwaway key verifies (--key throwaway --key real)", async () => {
    const file = withSignatures("broken-real", (s) => {
      s[1]!.data = Buffer.from(s[1]!.data).fill(0x5a, 0, 8);
    });
    const r = await verifyPayload(file, { publicKeys: [throwaway.pub, real.pub] });
    expect(r.ok).toBe(false);
    expect(r.signatureCheck).toEqual({ checked: true, trustedKey: real.pub });
    expect(r.failures).toEqual([
      `the version-2 signature (the one update_engine checks) does not verify with the trusted key ${real.pub}`,
    ]);
    expect(r.signatures.map((s) => [s.version, s.validKeys])).toEqual([
      [1, [throwaway.pub]],
      [2, []],
    ]);
  });

  it("the last --key is the trusted one; --trusted-key names it explicitly", async () => {
    const file = join(dir, "good.gz");
    writeFileSync(file, data);
    expect((await verifyPayload(file, { publicKeys: [throwaway.pub, real.pub] })).ok).toBe(true);
    expect((await verifyPayload(file, { publicKeys: [real.pub, throwaway.pub] })).ok).toBe(false);
    const explicit = await verifyPayload(file, {
      publicKeys: [real.pub, throwaway.pub],
      trustedKey: real.pub,
    });
    expect(explicit.failures).toEqual([]);
    expect(explicit.signatureCheck).toEqual({ checked: true, trustedKey: real.pub });
    expect((await verifyPayload(file, { trustedKey: throwaway.pub })).ok).toBe(false);
  });

  it("a changed signature version number fails (2 -> 3, 1 -> 0, swapped)", async () => {
    for (const [label, mutate] of [
      ["v3", (s: Array<{ version: number }>) => void (s[1]!.version = 3)],
      ["v0", (s: Array<{ version: number }>) => void (s[0]!.version = 0)],
      ["swapped", (s: Array<{ version: number }>) => void ([s[0]!.version, s[1]!.version] = [2, 1])],
    ] as const) {
      const r = await verifyPayload(withSignatures(label, mutate), { publicKeys: [throwaway.pub, real.pub] });
      expect(r.ok, label).toBe(false);
      expect(r.failures[0], label).toMatch(/^signature versions \d, \d, expected 1, 2 /);
    }
  });

  it("verifying without a trusted key fails unless signature checks are explicitly skipped", async () => {
    const file = join(dir, "good.gz");
    const e = await rejection(verifyPayload(file), "USAGE");
    expect(e.message).toBe("no trusted key given: signatures cannot be checked");
    const skipped = await verifyPayload(file, { noSignatureCheck: true });
    expect(skipped.ok).toBe(true);
    expect(skipped.signatureCheck).toEqual({ checked: false });
    expect(skipped.warnings).toEqual([expect.stringMatching(/^signatures were NOT checked/)]);
  });
});
