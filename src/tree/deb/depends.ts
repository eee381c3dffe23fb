// Package relationships: parse Depends/Pre-Depends/Provides, read the base's dpkg status, find unmet dependencies.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../../errors.js";
import { parseDeb822, type Paragraph } from "./control.js";
import { satisfiesVersion, type VersionRelation } from "./version.js";

/** One alternative of a dependency: `name[:arch] [(op version)]`. */
export interface DepAlternative {
  readonly name: string;
  readonly archQualifier: string | undefined;
  readonly relation: VersionRelation | undefined;
  readonly version: string | undefined;
}

/** A comma-separated element of a relationship field: alternatives joined by "|". */
export type DepGroup = readonly DepAlternative[];

const ALT = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?$/i;

/** Parse a relationship field (Depends, Pre-Depends, Provides). Architecture and profile restrictions are ignored. */
export function parseRelations(text: string, where = "(relationship field)"): DepGroup[] {
  const groups: DepGroup[] = [];
  for (const rawGroup of text.replace(/\n/g, " ").split(",")) {
    if (rawGroup.trim() === "") continue;
    const alts: DepAlternative[] = [];
    for (const rawAlt of rawGroup.split("|")) {
      const cleaned = rawAlt
        .replace(/\[[^\]]*\]/g, "")
        .replace(/<[^>]*>/g, "")
        .trim();
      const m = ALT.exec(cleaned);
      if (!m) {
        throw new SysextError(
          "PACKAGE_INVALID",
          `cannot parse relationship ${JSON.stringify(rawAlt.trim())} in ${where}`,
          {
            hint: "relationships look like 'libc6 (>= 2.36), python3 | python3-minimal'; the package metadata is corrupt",
          },
        );
      }
      const op = m[3];
      const relation: VersionRelation | undefined =
        op === "<" ? "<=" : op === ">" ? ">=" : (op as VersionRelation | undefined);
      alts.push({ name: m[1]!.toLowerCase(), archQualifier: m[2]?.toLowerCase(), relation, version: m[4] });
    }
    groups.push(alts);
  }
  return groups;
}

export function formatAlternative(a: DepAlternative): string {
  return `${a.name}${a.archQualifier ? `:${a.archQualifier}` : ""}${a.relation ? ` (${a.relation} ${a.version})` : ""}`;
}

export function formatGroup(g: DepGroup): string {
  return g.map(formatAlternative).join(" | ");
}

/** Debian's Multi-Arch field (absent = "no"). */
export type MultiArch = "no" | "same" | "foreign" | "allowed";

export function parseMultiArch(v: string | undefined): MultiArch {
  const m = (v ?? "").trim().toLowerCase();
  return m === "same" || m === "foreign" || m === "allowed" ? m : "no";
}

/** A package that can satisfy dependencies: installed in the base, or part of the extension. */
export interface AvailablePackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  /** Multi-Arch of the package (default "no"). */
  readonly multiArch?: MultiArch;
  /** Raw Provides field ("" when none). */
  readonly provides: string;
  /** Where it comes from, e.g. "base" or "deb source #1". */
  readonly from: string;
}

interface Candidate {
  /** undefined for an unversioned Provides: it satisfies only unversioned dependencies. */
  readonly version: string | undefined;
  readonly architecture: string;
  readonly multiArch: MultiArch;
}

/**
 * dpkg's deparchsatisfied (lib/dpkg/depcon.c): whether a package of `arch` with `multiArch` satisfies a
 * dependency with `qualifier` of a package built for `target` (the extension's Debian architecture;
 * "all" counts as it). Multi-Arch: foreign satisfies any dependency; `:any` needs Multi-Arch: allowed;
 * otherwise the architectures must be equal (no qualifier: the depending package's, i.e. the target).
 */
export function archSatisfies(
  c: { architecture: string; multiArch: MultiArch },
  qualifier: string | undefined,
  target: string,
): boolean {
  if (c.multiArch === "foreign") return true;
  if (qualifier === "any") return c.multiArch === "allowed";
  const want = qualifier === undefined || qualifier === "native" ? target : qualifier;
  const have = c.architecture === "all" ? target : c.architecture;
  return have === want;
}

/** Packages indexed by every name they answer to (their own and what they provide). */
export class PackageIndex {
  readonly #byName = new Map<string, Candidate[]>();

  constructor(packages: Iterable<AvailablePackage> = []) {
    for (const p of packages) this.add(p);
  }

  add(p: AvailablePackage): void {
    const multiArch = p.multiArch ?? "no";
    this.#push(p.name, { version: p.version, architecture: p.architecture, multiArch });
    if (p.provides.trim() === "") return;
    // A provided (virtual) name has the provider's architecture and Multi-Arch.
    for (const g of parseRelations(p.provides, `Provides of ${p.name}`)) {
      for (const a of g)
        this.#push(a.name, {
          version: a.relation === "=" ? a.version : undefined,
          architecture: p.architecture,
          multiArch,
        });
    }
  }

  /**
   * Whether some package satisfies one alternative, for a depending package built for `nativeArch` (the
   * target's Debian architecture): libc6:amd64 does not satisfy an arm64 package's "libc6".
   */
  satisfies(alt: DepAlternative, nativeArch: string): boolean {
    const cands = this.#byName.get(alt.name) ?? [];
    return cands.some((c) => {
      if (!archSatisfies(c, alt.archQualifier, nativeArch)) return false;
      if (alt.relation === undefined) return true;
      return c.version !== undefined && satisfiesVersion(c.version, alt.relation, alt.version ?? "");
    });
  }

  #push(name: string, c: Candidate): void {
    const list = this.#byName.get(name);
    if (list) list.push(c);
    else this.#byName.set(name, [c]);
  }
}

/** Packages of a dpkg status database that are installed (Status "install ok installed" or "hold ok installed"). */
export function installedPackages(paragraphs: readonly Paragraph[], from = "base"): AvailablePackage[] {
  const out: AvailablePackage[] = [];
  for (const p of paragraphs) {
    const status = (p.get("status") ?? "").split(/\s+/);
    if (status.length !== 3 || status[1] !== "ok" || status[2] !== "installed") continue;
    if (status[0] !== "install" && status[0] !== "hold") continue;
    const name = p.get("package");
    const version = p.get("version");
    if (!name || !version) continue;
    out.push({
      name,
      version,
      architecture: p.get("architecture") ?? "all",
      multiArch: parseMultiArch(p.get("multi-arch")),
      provides: p.get("provides") ?? "",
      from,
    });
  }
  return out;
}

/** Read `var/lib/dpkg/status` of a base root; undefined when the root has none. */
export async function readBaseStatus(root: string): Promise<AvailablePackage[] | undefined> {
  const file = join(root, "var/lib/dpkg/status");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SysextError(
      "BASE_INVALID",
      `cannot read the base package database ${file}: ${(e as Error).message}`,
      {
        location: { file },
        cause: e,
        hint: "make var/lib/dpkg/status of the base root readable, or set skipDependencyCheck: true on the deb source",
      },
    );
  }
  return installedPackages(parseDeb822(text, file));
}

/**
 * The Debian architecture of the system a dpkg status database belongs to: that of its installed dpkg
 * package (always native), else the most common architecture other than "all"; undefined when unknown.
 */
export function statusArchitecture(packages: readonly AvailablePackage[]): string | undefined {
  const dpkg = packages.find((p) => p.name === "dpkg" && p.architecture !== "all");
  if (dpkg) return dpkg.architecture;
  const count = new Map<string, number>();
  for (const p of packages)
    if (p.architecture !== "all") count.set(p.architecture, (count.get(p.architecture) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** An unmet dependency of an included package. */
export interface MissingDependency {
  readonly package: string;
  readonly field: "Depends" | "Pre-Depends";
  /** The dependency as written, e.g. "libfoo1 (>= 1.2) | libfoo2". */
  readonly dependency: string;
}

/** Every Depends/Pre-Depends group of `packages` (control paragraphs) that no package of `index` satisfies. */
export function findMissingDependencies(
  packages: readonly Paragraph[],
  index: PackageIndex,
  nativeArch: string,
): MissingDependency[] {
  const missing: MissingDependency[] = [];
  for (const p of packages) {
    const name = p.get("package") ?? "(unknown)";
    for (const field of ["Pre-Depends", "Depends"] as const) {
      const text = p.get(field.toLowerCase());
      if (!text) continue;
      for (const g of parseRelations(text, `${field} of ${name}`)) {
        if (!g.some((a) => index.satisfies(a, nativeArch)))
          missing.push({ package: name, field, dependency: formatGroup(g) });
      }
    }
  }
  return missing;
}

/** The PACKAGE_DEPENDS error listing every unmet dependency. */
export function dependencyError(missing: readonly MissingDependency[], baseSource: string): SysextError {
  const lines = missing.map((m) => `  ${m.package}: ${m.field} ${m.dependency}`).join("\n");
  return new SysextError(
    "PACKAGE_DEPENDS",
    `${missing.length} dependenc${missing.length === 1 ? "y is" : "ies are"} satisfied neither by the base (${baseSource}) nor by the extension's packages:\n${lines}`,
    {
      hint: "add the missing packages to the deb source's packages (apt-get download <name>), or set 'skipDependencyCheck: true' on the source if the base provides them in another way",
      details: missing,
    },
  );
}
