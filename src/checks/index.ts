// Runs every check over an assembled tree; some rules also repair the tree (removing overlay markers, drops).
import type { BaseRelease } from "../base/base.js";
import type { ExtensionSpec } from "../spec/schema.js";
import type { TreeBuilder } from "../tree/tree.js";
import type { FixAdvice } from "./advice.js";
import { checkContent } from "./content.js";
import type { Finding } from "./finding.js";
import {
  applyDrop,
  checkOsRelease,
  checkOutsideUsrOpt,
  checkOverlayMarkers,
  checkUsrSbin,
} from "./layout.js";
import { checkReleaseFile } from "./naming.js";

export type { Finding, Severity } from "./finding.js";
export { blockingFindings } from "./finding.js";
export { SPEC_ADVICE, flagAdvice, type FixAdvice } from "./advice.js";

export interface CheckContext {
  name: string;
  spec: ExtensionSpec;
  base: BaseRelease;
  /** How hints say to remove a path (spec fields by default; a flag for spec-less CLI builds). */
  advice?: FixAdvice;
}

/**
 * All rules in a fixed order. Mutates `builder` where the rule is a removal (overlay opaque markers, paths
 * listed under spec.drop), so run it after the release file was added and before the image is written.
 */
export function runChecks(builder: TreeBuilder, ctx: CheckContext): Finding[] {
  return [
    ...checkOverlayMarkers(builder, ctx.advice),
    ...applyDrop(builder, ctx),
    ...checkOutsideUsrOpt(builder, ctx.advice),
    ...checkOsRelease(builder, ctx.advice),
    ...checkUsrSbin(builder, ctx),
    ...checkReleaseFile(builder, ctx),
    ...checkContent(builder, ctx.advice),
  ];
}
