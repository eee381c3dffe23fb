// What every tree source gets: where relative paths start, variables, the base, and a scratch directory.
import type { SystemdArch } from "../../base/arch.js";
import type { BaseRelease } from "../../base/base.js";
import type { Finding } from "../../checks/finding.js";

export interface SourceContext {
  /** Directory relative source paths are resolved against (the spec file's directory). */
  readonly specDir: string;
  /** Directory holding templates (the package's templates/ unless overridden). */
  readonly templatesDir: string;
  /** Variables after interpolation: builtins (name, arch, debArch, baseId, baseVersionId, ...) and spec vars. */
  readonly vars: Readonly<Record<string, string>>;
  readonly base: BaseRelease;
  readonly arch: SystemdArch;
  /** Scratch directory for this build (archive blob stores); removed after the build. */
  readonly workDir: string;
  /** Build epoch (SOURCE_DATE_EPOCH or fixed). */
  readonly epoch: number;
  /** Sources append findings here (e.g. maintainer scripts that enable units). */
  readonly findings: Finding[];
}

/** What a source reports back besides the entries it added. */
export interface SourceResult {
  /** A version for SYSEXT_VERSION_ID (deb sources: the main package's version). */
  readonly version?: string;
  /** Number of entries added. */
  readonly entries: number;
}
