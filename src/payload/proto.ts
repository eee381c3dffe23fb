// The CrAU protobuf messages with Flatcar update_engine's field numbers (update_metadata.proto, proto2).
import protobuf from "protobufjs";

/** Flatcar's update_metadata.proto (the subset a full payload uses); field numbers differ from Chrome OS. */
export const UPDATE_METADATA_PROTO = `
syntax = "proto2";
package chromeos_update_engine;

message Extent {
  optional uint64 start_block = 1;
  optional uint64 num_blocks = 2;
}

message Signatures {
  message Signature {
    optional uint32 version = 1;
    optional bytes data = 2;
  }
  repeated Signature signatures = 1;
}

message InstallInfo {
  optional uint64 size = 1;
  optional bytes hash = 2;
}

message InstallOperation {
  enum Type {
    REPLACE = 0;
    REPLACE_BZ = 1;
    MOVE = 2;
    BSDIFF = 3;
  }
  required Type type = 1;
  optional uint32 data_offset = 2;
  optional uint32 data_length = 3;
  repeated Extent src_extents = 4;
  optional uint64 src_length = 5;
  repeated Extent dst_extents = 6;
  optional uint64 dst_length = 7;
  optional bytes data_sha256_hash = 8;
}

message DeltaArchiveManifest {
  repeated InstallOperation partition_operations = 1;
  repeated InstallOperation noop_operations = 2;
  optional uint32 block_size = 3 [default = 4096];
  optional uint64 signatures_offset = 4;
  optional uint64 signatures_size = 5;
  optional InstallInfo old_partition_info = 8;
  optional InstallInfo new_partition_info = 9;
}
`;

const root = protobuf.parse(UPDATE_METADATA_PROTO, { keepCase: true }).root;

export const DeltaArchiveManifest = root.lookupType("chromeos_update_engine.DeltaArchiveManifest");
export const SignaturesMessage = root.lookupType("chromeos_update_engine.Signatures");

export const OP_REPLACE = 0;
export const OP_REPLACE_BZ = 1;
export const OP_MOVE = 2;
export const OP_BSDIFF = 3;

export const CRAU_MAGIC = "CrAU";
export const CRAU_VERSION = 1n;
export const HEADER_SIZE = 20;
export const BLOCK_SIZE = 4096;
export const CHUNK_SIZE = 1 << 20;
/** start_block of an extent that has no place on disk (the signature noop operation). */
export const SPARSE_HOLE = 0xffffffffffffffffn;

/** A uint64 for protobufjs from a bigint (numbers above 2^53 need low/high words). */
export function u64(v: bigint | number): { low: number; high: number; unsigned: true } {
  const b = BigInt(v);
  return { low: Number(b & 0xffffffffn), high: Number((b >> 32n) & 0xffffffffn), unsigned: true };
}

/** A uint64 as decoded by protobufjs (number or Long-like) to bigint. */
export function toBigInt(v: unknown): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "bigint") return v;
  if (typeof v === "object" && "low" in v && "high" in v) {
    const l = v as { low: number; high: number };
    return (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  }
  if (typeof v === "string") return BigInt(v);
  return undefined;
}

/** The 20-byte big-endian header: magic, format version 1, manifest size. */
export function encodeHeader(manifestSize: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.write(CRAU_MAGIC, 0, "latin1");
  h.writeBigUInt64BE(CRAU_VERSION, 4);
  h.writeBigUInt64BE(BigInt(manifestSize), 12);
  return h;
}
