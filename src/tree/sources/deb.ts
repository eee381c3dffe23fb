// Debian package source: read .deb files (ar, control, data.tar.*) into tree entries.
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { SourceContext, SourceResult } from "./context.js";

export async function addDebSource(
  _builder: TreeBuilder,
  _source: Extract<SourceSpec, { type: "deb" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  throw new Error("not implemented");
}
