// Small path glob matcher for exclude, strip and relocate rules: `*`, `**`, `?` and `[...]` classes.
import { SysextError } from "../errors.js";

/** One pattern character position: a literal, `?`, `*`, or a character class. */
type Token =
  | { readonly kind: "char"; readonly ch: string }
  | { readonly kind: "any" }
  | { readonly kind: "star" }
  | { readonly kind: "class"; readonly re: RegExp };

/** A compiled pattern: `**` (any number of components) or the tokens of one component. */
type Segment = "**" | readonly Token[];

const cache = new Map<string, readonly Segment[]>();

/**
 * Whether `path` (relative, "/"-separated, no leading slash) matches `pattern`.
 * - `*` matches any run of characters within one path component, `?` one character (never "/").
 * - `**` as a whole component matches zero or more components: `**\/x` matches "x" and "a/b/x",
 *   `a/**` matches "a" and everything below it, `a/**\/b` matches "a/b" and "a/x/y/b".
 * - `[abc]`, `[a-z]`, `[!a]` / `[^a]` match one character of a class; `\` escapes the next character.
 * A leading "/" or "./" and a trailing "/" in the pattern are ignored (patterns are relative to a root).
 * Matching takes time proportional to pattern length times path length (no backtracking blow-up).
 */
export function matchGlob(pattern: string, path: string): boolean {
  const segments = compile(pattern);
  const parts = path === "" ? [] : path.split("/");
  // memo[i * (parts.length + 1) + j]: whether segments[i..] match parts[j..] (0 unknown, 1 yes, 2 no).
  const memo = new Uint8Array((segments.length + 1) * (parts.length + 1));
  const match = (i: number, j: number): boolean => {
    const key = i * (parts.length + 1) + j;
    if (memo[key] !== 0) return memo[key] === 1;
    let ok: boolean;
    const seg = segments[i];
    if (seg === undefined) ok = j === parts.length;
    else if (seg === "**") ok = match(i + 1, j) || (j < parts.length && match(i, j + 1));
    else ok = j < parts.length && matchComponent(seg, parts[j]!) && match(i + 1, j + 1);
    memo[key] = ok ? 1 : 2;
    return ok;
  };
  return match(0, 0);
}

/** Whether `path` or one of its parent directories matches any of `patterns` (an excluded directory excludes its contents). */
export function matchesAnyGlob(patterns: readonly string[], path: string): boolean {
  if (patterns.length === 0) return false;
  for (let p = path; ;) {
    for (const pattern of patterns) if (matchGlob(pattern, p)) return true;
    const i = p.lastIndexOf("/");
    if (i < 0) return false;
    p = p.slice(0, i);
  }
}

function compile(pattern: string): readonly Segment[] {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const cleaned = pattern.replace(/^(?:\.?\/)+/, "").replace(/\/+$/, "");
  const segments = cleaned
    .split("/")
    .filter((s, i, all) => s !== "" && !(s === "**" && all[i - 1] === "**"))
    .map((s): Segment => (s === "**" ? "**" : tokenize(s)));
  cache.set(pattern, segments);
  return segments;
}

function tokenize(seg: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === "\\" && i + 1 < seg.length) {
      out.push({ kind: "char", ch: seg[++i]! });
    } else if (c === "*") {
      while (seg[i + 1] === "*") i++;
      out.push({ kind: "star" });
    } else if (c === "?") {
      out.push({ kind: "any" });
    } else if (c === "[") {
      const end = seg.indexOf("]", i + 2);
      if (end < 0) {
        out.push({ kind: "char", ch: c });
        continue;
      }
      let body = seg.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      body = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      out.push({ kind: "class", re: classRegExp(negate ? `^[^/${body}]$` : `^[${body}]$`, seg) });
      i = end;
    } else {
      out.push({ kind: "char", ch: c });
    }
  }
  return out;
}

/** A one-character test (no quantifier, so no backtracking); a malformed class is SPEC_INVALID. */
function classRegExp(source: string, seg: string): RegExp {
  try {
    return new RegExp(source, "s");
  } catch (e) {
    throw new SysextError(
      "SPEC_INVALID",
      `glob component ${JSON.stringify(seg)} has an invalid [...] class`,
      {
        cause: e,
        hint: "write classes like [abc], [a-z] or [!0-9] (ranges go from the lower to the higher character)",
      },
    );
  }
}

function matchOne(t: Token, ch: string): boolean {
  switch (t.kind) {
    case "char":
      return t.ch === ch;
    case "any":
      return ch !== "/";
    case "class":
      return t.re.test(ch);
    case "star":
      return false;
  }
}

/**
 * Match one path component: the classic wildcard scan that, on a mismatch, retries from the last `*`
 * with one more character swallowed by it (each `*` is resumed at most once per position).
 */
function matchComponent(tokens: readonly Token[], s: string): boolean {
  let ti = 0;
  let si = 0;
  let starTi = -1;
  let starSi = 0;
  while (si < s.length) {
    const t = tokens[ti];
    if (t !== undefined && t.kind === "star") {
      starTi = ti++;
      starSi = si;
    } else if (t !== undefined && matchOne(t, s[si]!)) {
      ti++;
      si++;
    } else if (starTi >= 0) {
      ti = starTi + 1;
      si = ++starSi;
    } else {
      return false;
    }
  }
  while (tokens[ti]?.kind === "star") ti++;
  return ti === tokens.length;
}
