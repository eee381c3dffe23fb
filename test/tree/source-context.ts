// Test helpers for tree sources: scratch SourceContexts, parsing raw sources, reading a Content back from disk.
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBase, type BaseRelease } from "../../src/base/base.js";
import type { Finding } from "../../src/checks/finding.js";
import { sourceSchema, type SourceSpec } from "../../src/spec/schema.js";
import type { SourceContext, SourceResult } from "../../src/tree/sources/context.js";
import { addSource } from "../../src/tree/sources/index.js";
import type { TreeBuilder } from "../../src/tree/tree.js";
import type { Content, TreeEntry } from "../../src/tree/types.js";

export const testBase: BaseRelease = {
  id: "debian",
  versionId: "12",
  sysextLevel: undefined,
  idLike: [],
  arch: "x86-64",
  archSource: "explicit",
  fields: { ID: "debian", VERSION_ID: "12" },
  source: "explicit values",
  root: undefined,
  mergedSbin: true,
};

/** A fresh scratch directory with spec/, templates/ and work/ below it, and a context pointing at them. */
export async function scratchContext(vars: Record<string, string> = {}): Promise<{
  dir: string;
  ctx: SourceContext;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "sysextkit-src-"));
  for (const d of ["spec", "templates", "work"]) await mkdir(join(dir, d));
  const ctx: SourceContext = {
    specDir: join(dir, "spec"),
    templatesDir: join(dir, "templates"),
    vars: { name: "demo", arch: "x86-64", ...vars },
    base: testBase,
    arch: "x86-64",
    workDir: join(dir, "work"),
    epoch: 0,
    findings: [],
  };
  return { dir, ctx, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A context for deb sources below `tmp`: the base is Debian 12 x86-64, given by values, or (with
 * `baseRoot`) as a root directory holding os-release and, when `status` is set, var/lib/dpkg/status.
 */
export async function debContext(
  tmp: string,
  baseRoot?: { status?: string },
  findings: Finding[] = [],
): Promise<SourceContext> {
  const root = await mkdtemp(join(tmp, "base-"));
  await mkdir(join(root, "usr/lib"), { recursive: true });
  await writeFile(join(root, "usr/lib/os-release"), "ID=debian\nVERSION_ID=12\n");
  if (baseRoot?.status !== undefined) {
    await mkdir(join(root, "var/lib/dpkg"), { recursive: true });
    await writeFile(join(root, "var/lib/dpkg/status"), baseRoot.status);
  }
  const base = baseRoot
    ? await readBase({ path: root, arch: "x86-64" })
    : await readBase({ values: { ID: "debian", VERSION_ID: "12" }, arch: "x86-64" });
  return {
    specDir: tmp,
    templatesDir: join(tmp, "templates"),
    vars: {},
    base,
    arch: "x86-64",
    workDir: join(tmp, "work"),
    epoch: 0,
    findings,
  };
}

/** Validate `raw` as a spec source (defaults filled in) and add it to `builder`. */
export function addRaw(builder: TreeBuilder, raw: unknown, ctx: SourceContext): Promise<SourceResult> {
  return addSource(builder, sourceSchema.parse(raw), ctx);
}

/** A deb source from its fields, with the schema's defaults. */
export function debSource(over: Record<string, unknown>): Extract<SourceSpec, { type: "deb" }> {
  return sourceSchema.parse({ type: "deb", ...over }) as Extract<SourceSpec, { type: "deb" }>;
}

/** The bytes a Content describes (test sizes only). */
export async function readContent(content: Content): Promise<Buffer> {
  if (content.kind === "bytes") return Buffer.from(content.data);
  const fh = await open(content.path, "r");
  try {
    const buf = Buffer.alloc(content.size);
    let got = 0;
    while (got < content.size) {
      const r = await fh.read(buf, got, content.size - got, content.offset + got);
      if (r.bytesRead === 0) throw new Error(`short read from ${content.path}`);
      got += r.bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** The text of a file entry. */
export async function entryText(entry: TreeEntry | undefined): Promise<string> {
  if (!entry || entry.type !== "file") throw new Error(`not a file entry: ${JSON.stringify(entry)}`);
  return (await readContent(entry.content)).toString("utf8");
}
