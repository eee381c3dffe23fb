// Test helpers for tree sources: a scratch SourceContext and reading a Content back from disk.
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BaseRelease } from "../../src/base/base.js";
import type { SourceContext } from "../../src/tree/sources/context.js";
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
