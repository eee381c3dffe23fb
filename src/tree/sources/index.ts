// Dispatch one spec source to the module that reads it.
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import type { SourceContext, SourceResult } from "./context.js";
import { addDebSource } from "./deb.js";
import { addDirectorySource } from "./directory.js";
import { addFileSource, addSymlinkSource } from "./inline.js";
import { addRpmSource } from "./rpm.js";
import { addTarSource } from "./tar.js";
import { addTemplateSource } from "./template.js";

/** Add one (already interpolated) source to the tree. */
export async function addSource(
  builder: TreeBuilder,
  source: SourceSpec,
  ctx: SourceContext,
): Promise<SourceResult> {
  switch (source.type) {
    case "directory":
      return addDirectorySource(builder, source, ctx);
    case "tar":
      return addTarSource(builder, source, ctx);
    case "file":
      return addFileSource(builder, source, ctx);
    case "symlink":
      return addSymlinkSource(builder, source, ctx);
    case "template":
      return addTemplateSource(builder, source, ctx);
    case "deb":
      return addDebSource(builder, source, ctx);
    case "rpm":
      return addRpmSource(builder, source, ctx);
  }
}
