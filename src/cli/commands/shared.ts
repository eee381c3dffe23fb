// Small option parsers shared by the CLI commands.
import { SysextError } from "../../errors.js";

/** commander accumulator for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parse repeated KEY=VALUE options. */
export function parseVars(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new SysextError("USAGE", `--var ${JSON.stringify(pair)} is not KEY=VALUE`, {
        hint: "write it like --var debDir=./debs",
      });
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

const KINDS = ["zst", "xz", "gz"] as const;

/** Parse --compressed zst,xz,gz. */
export function parseCompressedKinds(value: string | undefined): Array<(typeof KINDS)[number]> {
  if (!value) return [];
  const out: Array<(typeof KINDS)[number]> = [];
  for (const k of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(KINDS as readonly string[]).includes(k)) {
      throw new SysextError("USAGE", `--compressed ${JSON.stringify(k)} is not one of ${KINDS.join(", ")}`, {
        hint: "write it like --compressed zst,xz",
      });
    }
    out.push(k as (typeof KINDS)[number]);
  }
  return out;
}
