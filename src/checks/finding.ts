// Findings: what a check found, as data. Only the CLI prints them.

export type Severity = "error" | "warning" | "info";

export interface Finding {
  /** Stable code, e.g. "outside-usr-opt", "usr-sbin-directory". */
  readonly code: string;
  readonly severity: Severity;
  /** Path inside the image the finding is about, when there is one. */
  readonly path?: string;
  readonly message: string;
  readonly hint?: string;
}

/** With strict, warnings count as errors. */
export function blockingFindings(findings: readonly Finding[], strict: boolean): Finding[] {
  return findings.filter((f) => f.severity === "error" || (strict && f.severity === "warning"));
}
