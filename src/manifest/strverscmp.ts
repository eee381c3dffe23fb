// systemd's version order (strverscmp_improved, src/fundamental/string-util-fundamental.c): how sysupdate picks "newest".
//
// A version is read as segments. Before each segment, characters other than [A-Za-z0-9~^.-] are dropped
// (they only separate segments: "1_a" equals "1a", "1,2" is "1" then "2"). A segment may start with:
//   '~' pre-release (older than anything, even the end of the string), '-' version/release separator,
//   '^' patched release (newer than '-'), '.' point release; no prefix is newest.
// Then a run of digits (compared as a number: leading zeros ignored, any length) or of letters
// (byte-wise, longer newer). A numeric run is newer than a letter run; when one string ends first,
// the other is newer unless its next segment starts with '~'.
// Checked against `systemd-analyze compare-versions` of systemd 257 and 262 (test/manifest/strverscmp-agreement).

const isDigit = (c: string) => c >= "0" && c <= "9";
const isAlpha = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
const isVersionChar = (c: string) =>
  isDigit(c) || isAlpha(c) || c === "~" || c === "-" || c === "^" || c === ".";
const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);
/** systemd's CMP(a, b) over booleans and numbers. */
const cmp = (a: number | boolean, b: number | boolean): -1 | 0 | 1 => sign(Number(a) - Number(b));
/** Byte-wise comparison of two ASCII runs, as strncmp does. */
const bytes = (a: string, b: string): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Compare two version strings as systemd does: negative when `a` is older, 0 when equivalent,
 * positive when `a` is newer. Sort ascending with `versions.sort(strverscmpImproved)`.
 */
export function strverscmpImproved(a: string, b: string): -1 | 0 | 1 {
  let i = 0;
  let j = 0;
  const at = (s: string, k: number) => (k < s.length ? s[k]! : "");
  for (;;) {
    while (i < a.length && !isVersionChar(a[i]!)) i++;
    while (j < b.length && !isVersionChar(b[j]!)) j++;

    // '~': pre-release, older than anything else (even than the end of the other string).
    if (at(a, i) === "~" || at(b, j) === "~") {
      const r = cmp(at(a, i) !== "~", at(b, j) !== "~");
      if (r !== 0) return r;
      i++;
      j++;
    }
    // One string has ended: the longer one is newer.
    if (i >= a.length || j >= b.length) return cmp(i < a.length, j < b.length);

    for (const prefix of ["-", "^", "."]) {
      if (at(a, i) === prefix || at(b, j) === prefix) {
        const r = cmp(at(a, i) !== prefix, at(b, j) !== prefix);
        if (r !== 0) return r;
        i++;
        j++;
      }
    }

    let ie = i;
    let je = j;
    if (isDigit(at(a, i)) || isDigit(at(b, j))) {
      while (ie < a.length && isDigit(a[ie]!)) ie++;
      while (je < b.length && isDigit(b[je]!)) je++;
      // A numeric segment is newer than a missing (letter or empty) one.
      const r = cmp(ie !== i, je !== j);
      if (r !== 0) return r;
      while (a[i] === "0") i++;
      while (b[j] === "0") j++;
      const len = cmp(ie - i, je - j);
      if (len !== 0) return len;
      const d = bytes(a.slice(i, ie), b.slice(j, je));
      if (d !== 0) return d;
    } else {
      while (ie < a.length && isAlpha(a[ie]!)) ie++;
      while (je < b.length && isAlpha(b[je]!)) je++;
      const n = Math.min(ie - i, je - j);
      const d = bytes(a.slice(i, i + n), b.slice(j, j + n));
      if (d !== 0) return d;
      const len = cmp(ie - i, je - j);
      if (len !== 0) return len;
    }
    i = ie;
    j = je;
  }
}

/** The newest of some versions by strverscmpImproved (the first of equivalent ones), or undefined. */
export function newestVersion<T>(items: readonly T[], version: (item: T) => string): T | undefined {
  let best: T | undefined;
  for (const it of items)
    if (best === undefined || strverscmpImproved(version(it), version(best)) > 0) best = it;
  return best;
}
