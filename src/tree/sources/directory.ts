// Directory source: walk a directory tree, recording entries whose contents are read later.
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { SourceContext, SourceResult } from "./context.js";

export async function addDirectorySource(
  _builder: TreeBuilder,
  _source: Extract<SourceSpec, { type: "directory" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  throw new Error("not implemented");
}
