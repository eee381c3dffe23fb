// RPM version ordering: rpmvercmp (segments, '~' before everything, '^' after the base), EVR parsing and comparison.

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string | undefined) =>
  c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));
const isAlnum = (c: string | undefined) => isDigit(c) || isAlpha(c);

/**
 * rpm's rpmvercmp: -1, 0 or 1. Versions split into runs of digits and runs of letters; other characters
 * only separate. Numeric runs compare as numbers (leading zeros ignored) and beat alphabetic ones; '~'
 * sorts before anything, even the end of the string; '^' sorts after the end of the string but before
 * anything else.
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== "~" && a[i] !== "^") i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== "~" && b[j] !== "^") j++;
    if (a[i] === "~" || b[j] === "~") {
      if (a[i] !== "~") return 1;
      if (b[j] !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === "^" || b[j] === "^") {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== "^") return 1;
      if (b[j] !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    let ei = i;
    let ej = j;
    const numeric = isDigit(a[i]);
    const inRun = numeric ? isDigit : isAlpha;
    while (ei < a.length && inRun(a[ei])) ei++;
    while (ej < b.length && inRun(b[ej])) ej++;
    // The run in `b` is empty: the two runs have different kinds; numbers are newer than letters.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, "");
      sb = sb.replace(/^0+/, "");
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** An epoch:version-release triple; epoch and release may be absent. */
export interface Evr {
  readonly epoch: string | undefined;
  readonly version: string;
  readonly release: string | undefined;
}

/** Split "[epoch:]version[-release]" the way rpm does (release after the last '-'). */
export function parseEvr(text: string): Evr {
  let rest = text;
  let epoch: string | undefined;
  const colon = rest.indexOf(":");
  if (colon >= 0 && /^\d*$/.test(rest.slice(0, colon))) {
    epoch = rest.slice(0, colon) || undefined;
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest, release: undefined };
}

/**
 * Compare two EVRs as rpm's rpmverCmp (what rpm.vercmp and package ordering use): a missing epoch is 0,
 * a missing release is "" (so "1.0" < "1.0-1").
 */
export function compareEvr(a: Evr, b: Evr): number {
  const e = rpmvercmp(a.epoch ?? "0", b.epoch ?? "0");
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  return rpmvercmp(a.release ?? "", b.release ?? "");
}

/** Format an EVR back as rpm prints it. */
export function formatEvr(e: Evr): string {
  return `${e.epoch !== undefined ? `${e.epoch}:` : ""}${e.version}${e.release !== undefined ? `-${e.release}` : ""}`;
}

/** Dependency sense flags (rpmds.h). */
export const SENSE = {
  LESS: 1 << 1,
  GREATER: 1 << 2,
  EQUAL: 1 << 3,
  MASK: 0x0e,
  MISSINGOK: 1 << 19,
  RPMLIB: 1 << 24,
} as const;

/**
 * Whether a provide (`pFlags`, `pEvr`) satisfies a requirement (`rFlags`, `rEvr`), as rpmverOverlap
 * decides: an unversioned side matches everything; releases are compared only when both sides have
 * one, and a side without a release that says "=" matches any release of the other; otherwise the
 * ranges must overlap.
 */
export function rangesOverlap(pFlags: number, pEvr: string, rFlags: number, rEvr: string): boolean {
  const pSense = pFlags & SENSE.MASK;
  const rSense = rFlags & SENSE.MASK;
  if (pSense === 0 || rSense === 0 || pEvr === "" || rEvr === "") return true;
  const a = parseEvr(pEvr);
  const b = parseEvr(rEvr);
  let sense = rpmvercmp(a.epoch ?? "0", b.epoch ?? "0");
  if (sense === 0) sense = rpmvercmp(a.version, b.version);
  if (sense === 0) {
    if (a.release && b.release) sense = rpmvercmp(a.release, b.release);
    else if ((a.release && rSense & SENSE.EQUAL) || (b.release && pSense & SENSE.EQUAL)) return true;
  }
  if (sense < 0) return (pSense & SENSE.GREATER) !== 0 || (rSense & SENSE.LESS) !== 0;
  if (sense > 0) return (pSense & SENSE.LESS) !== 0 || (rSense & SENSE.GREATER) !== 0;
  return (
    ((pSense & SENSE.EQUAL) !== 0 && (rSense & SENSE.EQUAL) !== 0) ||
    ((pSense & SENSE.LESS) !== 0 && (rSense & SENSE.LESS) !== 0) ||
    ((pSense & SENSE.GREATER) !== 0 && (rSense & SENSE.GREATER) !== 0)
  );
}

/** "<", "<=", "=", ">=", ">" for sense flags ("" when unversioned). */
export function senseOperator(flags: number): string {
  const s = flags & SENSE.MASK;
  const lt = (s & SENSE.LESS) !== 0;
  const gt = (s & SENSE.GREATER) !== 0;
  const eq = (s & SENSE.EQUAL) !== 0;
  return `${lt ? "<" : ""}${gt ? ">" : ""}${eq ? "=" : ""}`;
}

/** Sense flags for an operator ("<=" -> LESS|EQUAL). */
export function operatorSense(op: string): number {
  let f = 0;
  if (op.includes("<")) f |= SENSE.LESS;
  if (op.includes(">")) f |= SENSE.GREATER;
  if (op.includes("=")) f |= SENSE.EQUAL;
  return f;
}
