// CLI output: human text or JSON, progress on a terminal, and error -> exit code mapping.
import type { Finding } from "../checks/finding.js";
import { isSysextError, type ErrorCode } from "../errors.js";
import { redactSecrets } from "../util/secret.js";

export interface GlobalFlags {
  readonly json?: boolean;
}

/** Exit codes: 0 success, 1 the operation failed, 2 usage. */
export function exitCodeFor(code: ErrorCode): number {
  return code === "USAGE" ? 2 : 1;
}

/**
 * Version of the shape of every --json object sysextkit prints; bumped when a field changes meaning or
 * goes away (new fields do not bump it).
 */
export const JSON_SCHEMA_VERSION = 1;

/**
 * The one writer of --json output: objects get `schemaVersion` first. `raw` prints a document as it is
 * (the JSON Schema printed by `sysextkit schema`).
 */
export function printJson(value: unknown, options: { raw?: boolean } = {}): void {
  const out =
    !options.raw && value !== null && typeof value === "object" && !Array.isArray(value)
      ? { schemaVersion: JSON_SCHEMA_VERSION, ...value }
      : value;
  // redactSecrets is the last guard: key material given by value never reaches the output.
  process.stdout.write(`${redactSecrets(JSON.stringify(out, null, 2))}\n`);
}

/** Whether the user asked for stack traces: --verbose on the command line, or DEBUG naming sysextkit (or "*", "1"). */
export function wantsStack(argv: readonly string[] = process.argv, env = process.env): boolean {
  const debug = env.DEBUG ?? "";
  return argv.includes("--verbose") || /(^|[,\s])(sysextkit\S*|\*|1|true)($|[,\s])/.test(debug);
}

/** "file:line" of the first stack frame of `e` (inside sysextkit where possible), or undefined. */
function origin(e: Error): string | undefined {
  const frames = (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  const pick = frames.find((l) => !l.includes("node:") && !l.includes("/node_modules/")) ?? frames[0];
  const m = pick ? /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?\s*$/.exec(pick) : null;
  return m ? `${m[1]!.replace(/^file:\/\//, "")}:${m[2]}` : undefined;
}

/** The causes of an error, outermost first (for --verbose). */
function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c = (e as { cause?: unknown }).cause; c !== undefined && out.length < 5;) {
    out.push(c);
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * Print an error the way the user asked for and return the exit code: a SysextError as message,
 * location and hint; anything else (a bug) as one line with where it happened and how to get the stack.
 * Stack traces (and causes) only with --verbose or DEBUG=sysextkit.
 */
export function reportError(e: unknown, json: boolean, verbose = wantsStack()): number {
  const err = (e instanceof Error ? e : new Error(String(e))) as Error;
  if (isSysextError(e)) {
    if (json) printJson({ error: e.toJSON() });
    process.stderr.write(`sysextkit: error: ${redactSecrets(e.describe())}\n`);
    if (!json && Array.isArray(e.details)) {
      for (const d of e.details as Array<Partial<Finding> & { message?: string }>) {
        if (d.severity) process.stderr.write(`  ${redactSecrets(formatFinding(d as Finding))}\n`);
      }
    }
    if (verbose) {
      process.stderr.write(`${redactSecrets(err.stack ?? "")}\n`);
      for (const c of causes(e))
        process.stderr.write(`caused by: ${redactSecrets((c as Error)?.stack ?? String(c))}\n`);
    }
    return exitCodeFor(e.code);
  }
  const where = origin(err);
  if (json) {
    printJson({
      error: { code: "INTERNAL", message: err.message, ...(where ? { location: { file: where } } : {}) },
    });
  }
  process.stderr.write(
    redactSecrets(
      `sysextkit: internal error: ${err.message.split("\n")[0]}${where ? ` (at ${where})` : ""}\n` +
        (verbose
          ? `${err.stack ?? String(e)}\n${causes(e)
              .map((c) => `caused by: ${(c as Error)?.stack ?? String(c)}\n`)
              .join("")}`
          : "  hint: this is a bug in sysextkit or an unexpected condition; run again with --verbose (or DEBUG=sysextkit) for the stack trace and report it\n"),
    ),
  );
  return 1;
}

export function formatFinding(f: Finding): string {
  return `${f.severity.padEnd(7)} ${f.code}${f.path ? ` ${f.path}` : ""}: ${f.message}${f.hint ? ` (${f.hint})` : ""}`;
}

/** Where progress goes (stderr), and what it needs to know about it; replaceable in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  readonly stream?: ProgressStream;
  readonly now?: () => number;
  /** Not on a terminal: at most one line per this many ms (default SYSEXTKIT_PROGRESS_SECONDS, else 5 s). */
  readonly intervalMs?: number;
}

function defaultInterval(): number {
  const s = Number(process.env.SYSEXTKIT_PROGRESS_SECONDS);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 5000;
}

/**
 * Progress of long work, always on stderr (never stdout, which holds results and --json). On a terminal
 * one line rewrites itself, cut to the terminal's width (a width of 0 or unknown counts as 80). Elsewhere
 * (CI logs, pipes) plain lines, at most one every few seconds, the first after that long, so short
 * runs stay quiet.
 */
export function progressPrinter(
  enabled: boolean,
  options: ProgressOptions = {},
): { update(text: string): void; done(): void } {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? defaultInterval();
  const tty = stream.isTTY === true;
  let last = "";
  let lastPlain = now();
  return {
    update(text: string) {
      if (!enabled || text === last) return;
      last = text;
      if (tty) {
        const cols = stream.columns;
        const width = cols !== undefined && cols > 1 ? cols : 80;
        stream.write(`\r\x1b[K${text.length >= width ? text.slice(0, width - 1) : text}`);
        return;
      }
      const t = now();
      if (t - lastPlain < interval) return;
      lastPlain = t;
      stream.write(`sysextkit: ${text}\n`);
    },
    done() {
      if (enabled && tty && last) stream.write("\r\x1b[K");
      last = "";
    },
  };
}

export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Render rows as an aligned text table. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
