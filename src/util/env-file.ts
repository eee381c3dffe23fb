// The env-style KEY=value format of os-release and extension-release files: parsing and quoting.
import { SysextError } from "../errors.js";

/** Parse an os-release style file (shell-like quoting, '#' comments). Later keys override earlier ones. */
export function parseEnvFile(text: string, file = "(input)"): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? "" : line.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new SysextError("BASE_INVALID", `line is not KEY=value: ${JSON.stringify(rawLine)}`, {
        location: { file, line: i + 1 },
        hint: 'os-release files contain lines like ID=debian or VERSION_ID="12"',
      });
    }
    out.set(key, unquote(line.slice(eq + 1).trim(), file, i + 1));
  });
  return out;
}

function unquote(v: string, file: string, line: number): string {
  // Fast path: nothing to unquote or unescape (no quote, backslash or comment); long values stay linear.
  if (!/["'\\#]/.test(v)) return v.trimEnd();
  let out = "";
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else out += c;
    } else if (c === "\\" && i + 1 < v.length) {
      out += v[++i];
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else out += c;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#" && /\s/.test(v[i - 1] ?? " ")) {
      break;
    } else {
      out += c;
    }
  }
  if (quote)
    throw new SysextError("BASE_INVALID", `unterminated ${quote} quote`, { location: { file, line } });
  return out.trimEnd();
}

/** Quote a value only where needed, the way os-release(5) expects (files are written by util/kv-writer). */
export function formatEnvValue(v: string): string {
  if (/^[A-Za-z0-9_.,:/@%+=-]*$/.test(v) && v !== "") return v;
  return `"${v.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}
