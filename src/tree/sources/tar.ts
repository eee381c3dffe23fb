// Tar source: read a (compressed) tar archive with tar-stream into tree entries.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import { requireSourcePath, resolveSourcePath } from "./common.js";
import type { SourceContext, SourceResult } from "./context.js";
import { openDecompressed, readTarStream } from "./tar-reader.js";

/**
 * Add the members of a tar archive (plain, gzip, xz, zstd or bzip2, detected by magic bytes) under
 * `source.to`. Member contents are appended to a blob file in the work directory, never held in memory.
 */
export async function addTarSource(
  builder: TreeBuilder,
  source: Extract<SourceSpec, { type: "tar" }>,
  ctx: SourceContext,
): Promise<SourceResult> {
  const file = resolveSourcePath(ctx.specDir, source.path);
  await requireSourcePath(file, "file", { field: "path", given: source.path, what: "tar source" });
  const input = await openDecompressed(file);
  const entries = await readTarStream(builder, input, {
    to: source.to,
    strip: source.strip,
    exclude: source.exclude,
    onConflict: source.onConflict,
    origin: `tar ${source.path}`,
    blobFile: newBlobFile(ctx.workDir),
    archive: file,
  });
  return { entries };
}

/** A fresh blob file name in the work directory. */
export function newBlobFile(workDir: string): string {
  return join(workDir, `blob-${randomBytes(6).toString("hex")}`);
}
