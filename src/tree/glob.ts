// Small path glob matcher for exclude, strip and relocate rules: `*`, `**`, `?` and `[...]` classes.

const cache = new Map<string, RegExp>();

/**
 * Whether `path` (relative, "/"-separated, no leading slash) matches `pattern`.
 * - `*` matches any run of characters within one path component, `?` one character (never "/").
 * - `**` as a whole component matches zero or more components: `**\/x` matches "x" and "a/b/x",
 *   `a/**` matches "a" and everything below it, `a/**\/b` matches "a/b" and "a/x/y/b".
 * - `[abc]`, `[a-z]`, `[!a]` / `[^a]` match one character of a class; `\` escapes the next character.
 * A leading "/" or "./" and a trailing "/" in the pattern are ignored (patterns are relative to a root).
 */
export function matchGlob(pattern: string, path: string): boolean {
  return compileGlob(pattern).test(path);
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

/** The regular expression a glob compiles to (anchored, cached). */
export function compileGlob(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const cleaned = pattern.replace(/^(?:\.?\/)+/, "").replace(/\/+$/, "");
  const segments = cleaned.split("/").filter((s, i, all) => s !== "" && !(s === "**" && all[i - 1] === "**"));
  let re = "";
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    const afterGlobstar = i > 0 && segments[i - 1] === "**";
    if (seg === "**") {
      if (last) re += i === 0 ? ".*" : "(?:/.*)?";
      else re += i === 0 ? "(?:.*/)?" : "/(?:.*/)?";
      return;
    }
    if (i > 0 && !afterGlobstar) re += "/";
    re += segmentToRegExp(seg);
  });
  const compiled = new RegExp(`^${re}$`, "s");
  cache.set(pattern, compiled);
  return compiled;
}

function segmentToRegExp(seg: string): string {
  let out = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === "\\" && i + 1 < seg.length) {
      out += escapeRegExp(seg[++i] as string);
    } else if (c === "*") {
      while (seg[i + 1] === "*") i++;
      out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = seg.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let body = seg.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      body = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      out += negate ? `[^/${body}]` : `[${body}]`;
      i = end;
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
