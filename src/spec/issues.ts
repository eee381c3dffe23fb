// zod validation issues as one SysextError listing every problem (file, YAML line, field, message), for spec and release spec.
import type { z } from "zod";
import { SysextError, type ErrorCode, type ErrorLocation } from "../errors.js";

export type Position = (path: PropertyKey[]) => { line: number; column: number } | undefined;

export interface DescribedIssue {
  readonly message: string;
  readonly hint: string;
  readonly location: ErrorLocation;
}

/** Hints per kind of issue; `fields` names where the allowed fields are listed. */
export interface IssueHints {
  readonly unknownField: string;
  readonly other: string;
  /** A hint for issues below a path whose second-to-last element is this key (e.g. "sources"). */
  readonly union?: { readonly under: string; readonly hint: string };
}

export function describeIssue(
  issue: z.core.$ZodIssue,
  file: string | undefined,
  position: Position,
  hints: IssueHints,
): DescribedIssue {
  let path = issue.path;
  let message = issue.message;
  let hint = hints.other;
  if (issue.code === "unrecognized_keys") {
    message = `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
    hint = hints.unknownField;
    path = [...path, issue.keys[0]!];
  } else if (issue.code === "invalid_type") {
    hint = "values are not converted: quote strings, write numbers and booleans without quotes";
  } else if (issue.code === "invalid_union" && hints.union && path.at(-2) === hints.union.under) {
    hint = hints.union.hint;
  }
  const field = path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
    .join("")
    .replace(/^\./, "");
  const pos = position(path);
  return {
    message: `${field || "(top level)"}: ${message}`,
    hint,
    location: { ...(file ? { file } : {}), ...(pos ?? {}), ...(field ? { field } : {}) },
  };
}

/**
 * One error for all issues: located at the first, its message listing every other one on its own line
 * ("also line 7 (field x): ..."), the details holding each with its location.
 */
export function validationError(
  code: ErrorCode,
  error: z.ZodError,
  file: string | undefined,
  position: Position,
  hints: IssueHints,
): SysextError {
  // In file order (zod reports unknown keys after the other issues of an object).
  const issues = error.issues
    .map((i) => describeIssue(i, file, position, hints))
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        (a.d.location.line ?? Infinity) - (b.d.location.line ?? Infinity) ||
        (a.d.location.column ?? 0) - (b.d.location.column ?? 0) ||
        a.i - b.i,
    )
    .map(({ d }) => d);
  const [first, ...rest] = issues;
  const also = rest.map((i) => {
    const where = i.location.line !== undefined ? `line ${i.location.line}` : "";
    return `\n  also${where ? ` ${where}` : ""}: ${i.message}`;
  });
  const hints2 = [...new Set(issues.map((i) => i.hint))];
  return new SysextError(code, `${first!.message}${also.join("")}`, {
    location: first!.location,
    hint: hints2.join("; "),
    cause: error,
    details: issues.map((i) => ({ ...i.location, message: i.message })),
  });
}
