// Test fixtures for the tree transforms: specs, a context with a chosen sbin layout, small in-memory trees.
import { tmpdir } from "node:os";
import { extensionSpecSchema, type ExtensionSpecInput } from "../../src/spec/schema.js";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import type { TreeEntry } from "../../src/tree/types.js";
import { testBase } from "./source-context.js";

/** A validated spec named oem-test. */
export const spec = (over: Partial<ExtensionSpecInput> = {}) =>
  extensionSpecSchema.parse({ name: "oem-test", ...over });

/** The transform context for oem-test on Debian 12 x86-64, with the base's usr/sbin layout as given. */
export const ctx = (mergedSbin?: boolean): SourceContext & { name: string } => ({
  name: "oem-test",
  specDir: tmpdir(),
  templatesDir: tmpdir(),
  vars: {},
  base: { ...testBase, mergedSbin },
  arch: "x86-64",
  workDir: tmpdir(),
  epoch: 0,
  findings: [],
});

/** A tree of small files (path -> text) and symlinks (path -> target). */
export function tree(files: Record<string, string>, links: Record<string, string> = {}): TreeBuilder {
  const b = new TreeBuilder();
  for (const [path, text] of Object.entries(files)) {
    const data = new TextEncoder().encode(text);
    b.add({
      type: "file",
      path,
      mode: 0o644,
      size: data.length,
      content: { kind: "bytes", data },
      origin: "test",
    });
  }
  for (const [path, target] of Object.entries(links))
    b.add({ type: "symlink", path, target, mode: 0o777, origin: "test" });
  return b;
}

/** The text of a generated (in-memory) file entry. */
export const text = (e: TreeEntry | undefined): string => {
  if (e?.type !== "file" || e.content.kind !== "bytes")
    throw new Error(`not generated: ${JSON.stringify(e)}`);
  return new TextDecoder().decode(e.content.data);
};

/** All paths of a tree, sorted. */
export const paths = (b: TreeBuilder) => [...b.paths()].sort();

/** A symlink's target, or "(type)" when the path is something else. */
export const target = (b: TreeBuilder, p: string) => {
  const e = b.get(p);
  return e?.type === "symlink" ? e.target : `(${e?.type ?? "missing"})`;
};
