// Inline sources: a file given in the spec (content or a copied file) and a symlink.
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { SourceContext, SourceResult } from "./context.js";

export async function addFileSource(
  _builder: TreeBuilder,
  _source: Extract<SourceSpec, { type: "file" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  throw new Error("not implemented");
}

export async function addSymlinkSource(
  _builder: TreeBuilder,
  _source: Extract<SourceSpec, { type: "symlink" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  throw new Error("not implemented");
}
