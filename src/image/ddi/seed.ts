// The values a DDI derives from its seed (as systemd-repart does) and from its root hash (as the DPS says).
import { createHash, createHmac } from "node:crypto";
import { SysextError } from "../../errors.js";

/**
 * repart derives everything that would otherwise be random from one 128-bit seed (normally the machine
 * ID): HMAC-SHA256 keyed by the seed. sysextkit's seed is derived from the file system's bytes, so the
 * same content gives the same salt and UUIDs, and `sign` can derive it again from the image alone.
 */
export function seedFromContent(fsDigest: Buffer): Buffer {
  return createHash("sha256").update("sysextkit ddi seed v1\0").update(fsDigest).digest().subarray(0, 16);
}

function hmac(seed: Buffer, message: Buffer | string): Buffer {
  return createHmac("sha256", seed).update(message).digest();
}

/** The verity salt: HMAC-SHA256(seed, "verity-salt"), all 32 bytes (repart's derivation). */
export function veritySalt(seed: Buffer): Buffer {
  return hmac(seed, "verity-salt");
}

/** The UUID in the verity superblock: v4(HMAC-SHA256(seed, "verity-uuid")). */
export function verityUuid(seed: Buffer): string {
  return uuidV4(hmac(seed, "verity-uuid"));
}

/** The disk GUID of the GPT: v4(HMAC-SHA256(seed, "disk-uuid")). */
export function diskUuid(seed: Buffer): string {
  return uuidV4(hmac(seed, "disk-uuid"));
}

/**
 * A partition UUID not tied to the root hash (the signature partition's): v4(HMAC-SHA256(seed, type UUID
 * bytes)), the first partition of its type taking no counter, as repart does.
 */
export function partitionUuidFromSeed(seed: Buffer, typeUuid: string): string {
  return uuidV4(hmac(seed, uuidToBytes(typeUuid)));
}

/**
 * The DPS rule: the data partition's UUID is the first 128 bits of the root hash, the verity partition's
 * the last 128 bits (taken as they are, without version bits).
 */
export function rootHashUuids(rootHash: Buffer): { data: string; verity: string } {
  return {
    data: bytesToUuid(rootHash.subarray(0, 16)),
    verity: bytesToUuid(rootHash.subarray(rootHash.length - 16)),
  };
}

/** First 16 bytes of `b` marked as a version 4, RFC 4122 variant UUID. */
export function uuidV4(b: Buffer): string {
  const x = Buffer.from(b.subarray(0, 16));
  x[6] = (x[6]! & 0x0f) | 0x40;
  x[8] = (x[8]! & 0x3f) | 0x80;
  return bytesToUuid(x);
}

export function bytesToUuid(b: Buffer): string {
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The 16 bytes of a UUID in its textual (big-endian) order. */
export function uuidToBytes(uuid: string): Buffer {
  if (!UUID_RE.test(uuid)) {
    throw new SysextError("USAGE", `${JSON.stringify(uuid)} is not a UUID`, {
      hint: "write it like 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    });
  }
  return Buffer.from(uuid.replace(/-/g, ""), "hex");
}

/** GPT stores GUIDs mixed-endian: the first three fields little-endian, the rest as written. */
export function uuidToGpt(uuid: string): Buffer {
  const b = uuidToBytes(uuid);
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

export function gptToUuid(b: Buffer): string {
  return bytesToUuid(
    Buffer.concat([
      Buffer.from(b.subarray(0, 4)).reverse(),
      Buffer.from(b.subarray(4, 6)).reverse(),
      Buffer.from(b.subarray(6, 8)).reverse(),
      b.subarray(8, 16),
    ]),
  );
}
