// Inline sources: a file given in the spec (content or a copied file) and a symlink.
import { mkdir, stat, writeFile } from "node:fs/promises";
import { SysextError } from "../../errors.js";
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { Content } from "../types.js";
import { normalizeDestination, parseMode, requireSourcePath, resolveSourcePath } from "./common.js";
import type { SourceContext, SourceResult } from "./context.js";
import { newBlobFile } from "./tar.js";

/** A file with inline `content` (UTF-8) or copied `from` a file relative to the spec directory. */
export async function addFileSource(
  builder: TreeBuilder,
  source: Extract<SourceSpec, { type: "file" }>,
  ctx: SourceContext,
): Promise<SourceResult> {
  const origin = `file ${source.path}`;
  const path = destination(source.path, origin);
  const mode = parseMode(source.mode);
  let content: Content;
  if (source.content !== undefined) {
    content = await spool(source.content, ctx.workDir);
  } else if (source.from !== undefined) {
    const abs = resolveSourcePath(ctx.specDir, source.from);
    await requireSourcePath(abs, "file", { field: "from", given: source.from, what: "file source" });
    const { size } = await stat(abs);
    content = { kind: "file", path: abs, offset: 0, size };
  } else {
    throw new SysextError("SOURCE_INVALID", `${origin} has neither 'content' nor 'from'`, {
      location: { field: "content" },
      hint: "give the file's text in 'content', or a file to copy in 'from'",
    });
  }
  const size = content.kind === "bytes" ? content.data.length : content.size;
  builder.add({ type: "file", path, mode, size, content, origin }, source.onConflict);
  return { entries: 1 };
}

/** Inline text longer than this is written to the work directory instead of being kept in the tree. */
const SPOOL_FROM = 64 * 1024;

/**
 * Inline content as tree content: short text as bytes; longer text spooled to a file in the build's work
 * directory, like archive members, so the tree never holds large buffers whatever the spec holds.
 */
async function spool(text: string, workDir: string): Promise<Content> {
  if (text.length < SPOOL_FROM / 4) {
    const data = new TextEncoder().encode(text);
    if (data.length < SPOOL_FROM) return { kind: "bytes", data };
  }
  await mkdir(workDir, { recursive: true });
  const file = newBlobFile(workDir);
  await writeFile(file, text, { encoding: "utf8", mode: 0o600 });
  return { kind: "file", path: file, offset: 0, size: (await stat(file)).size };
}

/** A symbolic link; targets that climb above the image root are refused by the tree builder. */
export async function addSymlinkSource(
  builder: TreeBuilder,
  source: Extract<SourceSpec, { type: "symlink" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  const origin = `symlink ${source.path}`;
  const path = destination(source.path, origin);
  if (source.target.includes("\0")) {
    throw new SysextError("SOURCE_INVALID", `${origin}: target contains a NUL byte`, {
      location: { field: "target" },
      hint: "give the link target as a plain path, e.g. ../lib/foo/bar or /usr/lib/foo/bar",
    });
  }
  builder.add({ type: "symlink", path, mode: 0o777, target: source.target, origin }, source.onConflict);
  return { entries: 1 };
}

/** Destination of a single-entry source; the image root itself is not a valid target. */
export function destination(raw: string, origin: string): string {
  const path = normalizeDestination(raw, origin, "path");
  if (path === "") {
    throw new SysextError("SOURCE_INVALID", `${origin}: the destination path is the image root`, {
      location: { field: "path" },
      hint: "give the full path inside the image, e.g. usr/lib/systemd/system/foo.service",
    });
  }
  return path;
}
