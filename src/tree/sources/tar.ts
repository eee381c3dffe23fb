// Tar source: read a (compressed) tar archive with tar-stream into tree entries.
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { SourceContext, SourceResult } from "./context.js";

export async function addTarSource(
  _builder: TreeBuilder,
  _source: Extract<SourceSpec, { type: "tar" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  throw new Error("not implemented");
}
