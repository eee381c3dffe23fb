// CLI output: human text or JSON, progress on a terminal, and error -> exit code mapping.
import type { Finding } from "../checks/finding.js";
import { isSysextError, type ErrorCode } from "../errors.js";

export interface GlobalFlags {
  readonly json?: boolean;
}

/** Exit codes: 0 success, 1 the operation failed, 2 usage. */
export function exitCodeFor(code: ErrorCode): number {
  return code === "USAGE" ? 2 : 1;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Print an error the way the user asked for and return the exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (isSysextError(e)) {
    if (json) printJson({ error: e.toJSON() });
    process.stderr.write(`sysextkit: error: ${e.describe()}\n`);
    if (!json && Array.isArray(e.details)) {
      for (const d of e.details as Array<Partial<Finding> & { message?: string }>) {
        if (d.severity) process.stderr.write(`  ${formatFinding(d as Finding)}\n`);
      }
    }
    return exitCodeFor(e.code);
  }
  const err = e as Error;
  if (json) printJson({ error: { code: "INTERNAL", message: err.message } });
  process.stderr.write(`sysextkit: internal error: ${err.stack ?? String(e)}\n`);
  return 1;
}

export function formatFinding(f: Finding): string {
  return `${f.severity.padEnd(7)} ${f.code}${f.path ? ` ${f.path}` : ""}: ${f.message}${f.hint ? ` (${f.hint})` : ""}`;
}

/** A progress line on stderr that rewrites itself, only when stderr is a terminal. */
export function progressPrinter(enabled: boolean): { update(text: string): void; done(): void } {
  const tty = enabled && process.stderr.isTTY === true;
  let last = "";
  return {
    update(text: string) {
      if (!tty || text === last) return;
      last = text;
      const width = process.stderr.columns ?? 80;
      process.stderr.write(`\r\x1b[K${text.slice(0, width - 1)}`);
    },
    done() {
      if (tty && last) process.stderr.write("\r\x1b[K");
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
