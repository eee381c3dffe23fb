// RPM dependencies: what the base and the extension provide (names, versions, files, rpmlib features), and what is unmet.
import { SysextError } from "../../errors.js";
import { packageEvr, nevra, type RpmDep, type RpmPackage } from "./package.js";
import { evalRich, parseRich } from "./rich.js";
import { rangesOverlap, SENSE, senseOperator } from "./vercmp.js";

/** Features rpm itself provides (rpm --showrc, "Features supported by rpmlib", rpm 4.18). */
export const RPMLIB_FEATURES: Readonly<Record<string, string>> = {
  "rpmlib(BuiltinLuaScripts)": "4.2.2-1",
  "rpmlib(CaretInVersions)": "4.15.0-1",
  "rpmlib(CompressedFileNames)": "3.0.4-1",
  "rpmlib(ConcurrentAccess)": "4.1-1",
  "rpmlib(DynamicBuildRequires)": "4.15.0-1",
  "rpmlib(ExplicitPackageProvide)": "4.0-1",
  "rpmlib(FileCaps)": "4.6.1-1",
  "rpmlib(FileDigests)": "4.6.0-1",
  "rpmlib(HeaderLoadSortsTags)": "4.0.1-1",
  "rpmlib(LargeFiles)": "4.12.0-1",
  "rpmlib(PartialHardlinkSets)": "4.0.4-1",
  "rpmlib(PayloadFilesHavePrefix)": "4.0-1",
  "rpmlib(PayloadIsBzip2)": "3.0.5-1",
  "rpmlib(PayloadIsLzma)": "4.4.2-1",
  "rpmlib(PayloadIsXz)": "5.2-1",
  "rpmlib(PayloadIsZstd)": "5.4.18-1",
  "rpmlib(RichDependencies)": "4.12.0-1",
  "rpmlib(ScriptletExpansion)": "4.9.0-1",
  "rpmlib(ScriptletInterpreterArgs)": "4.0.3-1",
  "rpmlib(TildeInVersions)": "4.10.0-1",
  "rpmlib(VersionedDependencies)": "3.0.3-1",
};

interface Provide {
  readonly flags: number;
  readonly evr: string;
  readonly from: string;
}

/** Everything installed packages provide: capability names (with versions) and file paths. */
export class ProvideIndex {
  readonly #names = new Map<string, Provide[]>();
  readonly #files = new Map<string, string>();

  /** Index a package: its own name (= EVR), its Provides and every file it owns. */
  add(p: RpmPackage, from: string): void {
    const label = `${nevra(p)} (${from})`;
    this.#push(p.name, { flags: SENSE.EQUAL, evr: packageEvr(p), from: label });
    for (const d of p.provides) this.#push(d.name, { flags: d.flags, evr: d.evr, from: label });
    for (const f of p.files) if (!this.#files.has(f.path)) this.#files.set(f.path, label);
  }

  /** The provider satisfying a simple dependency, or undefined. */
  provider(name: string, flags: number, evr: string): string | undefined {
    if (name.startsWith("rpmlib(")) {
      const have = RPMLIB_FEATURES[name];
      return have !== undefined && rangesOverlap(SENSE.EQUAL, have, flags, evr) ? "rpm" : undefined;
    }
    for (const p of this.#names.get(name) ?? []) if (rangesOverlap(p.flags, p.evr, flags, evr)) return p.from;
    if (name.startsWith("/")) return this.#files.get(name);
    return undefined;
  }

  /** Whether a dependency (simple or rich) is satisfied. */
  satisfies(d: RpmDep, where: string): boolean {
    if (d.name.startsWith("(")) {
      const expr = parseRich(d.name, where);
      return evalRich(expr, (n, f, e) => this.provider(n, f, e) !== undefined);
    }
    return this.provider(d.name, d.flags, d.evr) !== undefined;
  }

  #push(name: string, p: Provide): void {
    const list = this.#names.get(name);
    if (list) list.push(p);
    else this.#names.set(name, [p]);
  }
}

/** A requirement no installed or included package satisfies. */
export interface MissingRequire {
  readonly package: string;
  readonly requires: string;
}

/** "name op evr" as rpm prints a dependency. */
export function formatDep(d: RpmDep): string {
  const op = senseOperator(d.flags);
  return op && d.evr ? `${d.name} ${op} ${d.evr}` : d.name;
}

/** Every Requires of `packages` that `index` does not satisfy (weak "missingok" requirements excepted). */
export function findMissingRequires(packages: readonly RpmPackage[], index: ProvideIndex): MissingRequire[] {
  const missing: MissingRequire[] = [];
  for (const p of packages) {
    const seen = new Set<string>();
    for (const d of p.requires) {
      if (d.flags & SENSE.MISSINGOK) continue;
      const text = formatDep(d);
      if (seen.has(text)) continue; // Requires(pre) and Requires(post) of one name appear twice
      seen.add(text);
      if (!index.satisfies(d, `${nevra(p)} (${p.file})`)) missing.push({ package: nevra(p), requires: text });
    }
  }
  return missing;
}

/** The PACKAGE_DEPENDS error listing every unmet requirement. */
export function requiresError(missing: readonly MissingRequire[], baseSource: string): SysextError {
  const lines = missing.map((m) => `  ${m.package}: Requires ${m.requires}`).join("\n");
  return new SysextError(
    "PACKAGE_DEPENDS",
    `${missing.length} requirement${missing.length === 1 ? " is" : "s are"} satisfied neither by the base (${baseSource}) nor by the extension's packages:\n${lines}`,
    {
      hint: "add the packages that provide them to the rpm source (dnf --installroot=BASE download --resolve NAME fetches exactly what the base lacks), or set 'skipDependencyCheck: true' on the source if the base provides them in another way",
      details: missing,
    },
  );
}
