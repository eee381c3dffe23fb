// Decompression by magic bytes: gzip through node:zlib, xz/zstd/bzip2 through their command line tools.
import { createReadStream } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { requireTool, spawnTool } from "../../util/exec.js";
import { openRegularFile } from "../../util/fs.js";

export type Compression = "none" | "gzip" | "xz" | "zstd" | "bzip2";
/** What a container may declare besides what magic bytes tell: legacy lzma ("lzma_alone") has no magic. */
export type DeclaredCompression = Compression | "lzma";

/** Detect the compression of a byte range by its magic bytes. */
export function detectCompression(magic: Uint8Array): Compression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => magic[i] === b);
  if (starts(0x1f, 0x8b)) return "gzip";
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (starts(0x42, 0x5a, 0x68)) return "bzip2";
  return "none";
}

/**
 * An uncompressed view of `file` (or of `length` bytes at `offset`, e.g. an ar member): gzip through
 * node:zlib, xz/zstd/bzip2 through their command line tools. A decompressor failure (corrupt or
 * truncated data, non-zero exit) surfaces as an error on the returned stream. `as` forces the format
 * instead of detecting it (a container that declares it, e.g. an RPM's payload compressor).
 */
export async function openDecompressed(
  file: string,
  offset = 0,
  length?: number,
  as?: DeclaredCompression,
): Promise<NodeJS.ReadableStream> {
  const magic = Buffer.alloc(6);
  let got = 0;
  const fh = await openRegularFile(file, "archive", "IO");
  try {
    got = (await fh.read(magic, 0, Math.min(6, length ?? 6), offset)).bytesRead;
  } finally {
    await fh.close();
  }
  if (length === 0) return Readable.from([]);
  const raw = () =>
    createReadStream(file, {
      start: offset,
      ...(length === undefined ? {} : { end: offset + length - 1 }),
      highWaterMark: 1 << 20,
    });
  const kind = as ?? detectCompression(magic.subarray(0, got));
  if (kind === "none") return raw();
  if (kind === "lzma") return viaTool("xz", await requireTool("xz"), raw(), ["--format=lzma", "-dc"]);
  if (kind === "gzip") {
    const gunzip = createGunzip();
    pipeline(raw(), gunzip).catch(() => {
      // pipeline already destroyed gunzip with the error; the reader sees it there.
    });
    return gunzip;
  }
  const bin = await requireTool(kind);
  return viaTool(kind, bin, raw());
}

function viaTool(
  tool: "xz" | "zstd" | "bzip2",
  bin: string,
  input: Readable,
  args = tool === "zstd" ? ["-dcq"] : ["-dc"],
): NodeJS.ReadableStream {
  const sub = spawnTool(bin, args, {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    buffer: { stdout: false, stderr: true },
  });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let done = false;
  pipeline(input, sub.stdin).catch(() => {
    // EPIPE when the tool exits early; its exit status reports the real problem.
  });
  sub.stdout.pipe(out, { end: false });
  Promise.all([sub, finished(sub.stdout)]).then(
    () => {
      done = true;
      out.end();
    },
    (e: unknown) => {
      done = true;
      const stderr = String((e as { stderr?: unknown }).stderr ?? "").trim();
      out.destroy(new Error(`${tool} -dc failed${stderr ? `: ${stderr}` : ""}`, { cause: e }));
    },
  );
  out.on("close", () => {
    if (!done) {
      sub.kill();
      input.destroy();
    }
  });
  return out;
}
