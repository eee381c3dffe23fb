// The one error class of sysextkit: a stable code, where it happened, and how to fix it.

/** Where an error happened: a file, a YAML line and column, a field path inside a spec. */
export interface ErrorLocation {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
}

/** Stable error codes. The CLI maps them to exit codes; programs may switch on them. */
export type ErrorCode =
  | "USAGE"
  | "SPEC_INVALID"
  | "SPEC_YAML"
  | "BASE_INVALID"
  | "BASE_UNSUPPORTED"
  | "ARCH_UNKNOWN"
  | "SOURCE_INVALID"
  | "PATH_ESCAPE"
  | "PATH_CONFLICT"
  | "ARCHIVE_INVALID"
  | "PACKAGE_INVALID"
  | "PACKAGE_ARCH"
  | "PACKAGE_DEPENDS"
  | "TEMPLATE_INVALID"
  | "CHECK_FAILED"
  | "TOOL_MISSING"
  | "TOOL_FAILED"
  | "FORMAT_UNSUPPORTED"
  | "IMAGE_INVALID"
  | "OUTPUT_EXISTS"
  | "KEY_INVALID"
  | "PAYLOAD_INVALID"
  | "RELEASE_INVALID"
  | "VERIFY_FAILED"
  | "LIMIT_EXCEEDED"
  | "IO";

export interface SysextErrorOptions {
  readonly location?: ErrorLocation;
  readonly hint?: string;
  readonly cause?: unknown;
  /** Extra structured data for --json output (for example the findings that failed a build). */
  readonly details?: unknown;
}

export class SysextError extends Error {
  override readonly name = "SysextError";
  readonly code: ErrorCode;
  readonly location: ErrorLocation | undefined;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: SysextErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** "file:line:col field: message (hint: ...)" for humans. */
  describe(): string {
    const where = formatLocation(this.location);
    const hint = this.hint ? `\n  hint: ${this.hint}` : "";
    return `${where ? `${where}: ` : ""}${this.message}${hint}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.location ? { location: this.location } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function formatLocation(loc: ErrorLocation | undefined): string {
  if (!loc) return "";
  let s = loc.file ?? "";
  if (loc.line !== undefined) s += `${s ? ":" : "line "}${loc.line}${loc.column ? `:${loc.column}` : ""}`;
  if (loc.field) s += `${s ? " " : ""}(field ${loc.field})`;
  return s;
}

export function isSysextError(e: unknown): e is SysextError {
  return e instanceof SysextError;
}
