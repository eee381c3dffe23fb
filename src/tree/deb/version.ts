// Debian version strings: parsing ([epoch:]upstream[-revision]) and dpkg's ordering (deb-version(7)).

export interface DebVersion {
  readonly epoch: number;
  readonly upstream: string;
  /** Debian revision; "" when the version has none. */
  readonly revision: string;
}

/** Parse a Debian version, or undefined when it is not one (dpkg's rules, slightly lenient on characters). */
export function parseDebVersion(text: string): DebVersion | undefined {
  const v = text.trim();
  if (v === "" || /\s/.test(v)) return undefined;
  let epoch = 0;
  let rest = v;
  const colon = v.indexOf(":");
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) return undefined;
    epoch = Number(e);
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : "";
  if (upstream === "" || !/^[0-9]/.test(upstream)) return undefined;
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) return undefined;
  if (dash >= 0 && !/^[A-Za-z0-9.+~]+$/.test(revision)) return undefined;
  return { epoch, upstream, revision };
}

/** The version without its "N:" epoch (SYSEXT_VERSION_ID does not allow ':'). */
export function stripEpoch(version: string): string {
  const m = /^\d+:(.*)$/.exec(version.trim());
  return m ? m[1]! : version.trim();
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c >= "0" && c <= "9") return 0;
  if ((c >= "A" && c <= "Z") || (c >= "a" && c <= "z")) return c.charCodeAt(0);
  if (c === "~") return -1;
  return c.charCodeAt(0) + 256;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";

/** dpkg's verrevcmp: compare upstream or revision parts; negative, zero or positive. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/**
 * Compare two Debian versions the way dpkg does: -1, 0 or 1. Unparseable versions compare as plain
 * strings after the parseable ones would (they only occur in broken package databases).
 */
export function compareDebVersions(a: string, b: string): number {
  const pa = parseDebVersion(a);
  const pb = parseDebVersion(b);
  if (!pa || !pb) return Math.sign(verrevcmp(a, b));
  if (pa.epoch !== pb.epoch) return pa.epoch > pb.epoch ? 1 : -1;
  const u = verrevcmp(pa.upstream, pb.upstream);
  if (u !== 0) return Math.sign(u);
  return Math.sign(verrevcmp(pa.revision, pb.revision));
}

export type VersionRelation = "<<" | "<=" | "=" | ">=" | ">>";

/** Whether `version` satisfies `relation constraint` (e.g. ">= 2.36"). Old "<" and ">" mean "<=" and ">=". */
export function satisfiesVersion(version: string, relation: VersionRelation, constraint: string): boolean {
  const c = compareDebVersions(version, constraint);
  switch (relation) {
    case "<<":
      return c < 0;
    case "<=":
      return c <= 0;
    case "=":
      return c === 0;
    case ">=":
      return c >= 0;
    case ">>":
      return c > 0;
  }
}
