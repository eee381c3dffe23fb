// Template source: render a file from templates/ with variables from the base and the spec.
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { SourceContext, SourceResult } from "./context.js";

export async function addTemplateSource(
  _builder: TreeBuilder,
  _source: Extract<SourceSpec, { type: "template" }>,
  _ctx: SourceContext,
): Promise<SourceResult> {
  throw new Error("not implemented");
}
