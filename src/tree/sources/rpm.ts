// RPM package source: read .rpm files (headers, cpio payload) into tree entries, check arch and Requires against the base.
import { randomBytes } from "node:crypto";
import { mkdir, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { rpmArches } from "../../base/arch.js";
import { baseProfile } from "../../base/profiles.js";
import type { Finding } from "../../checks/finding.js";
import { SysextError } from "../../errors.js";
import type { SourceSpec } from "../../spec/schema.js";
import { comparePaths } from "../paths.js";
import { findMissingRequires, ProvideIndex, requiresError } from "../rpm/depends.js";
import { nevra, readRpmPackage, type RpmPackage } from "../rpm/package.js";
import { extractPayload, type SharedFiles } from "../rpm/payload.js";
import { readRpmdb } from "../rpm/rpmdb.js";
import { packageFindings } from "../rpm/scripts.js";
import { compareEvr, parseEvr } from "../rpm/vercmp.js";
import type { TreeBuilder } from "../tree.js";
import { resolveSourcePath } from "./common.js";
import type { SourceContext, SourceResult } from "./context.js";

type RpmSource = Extract<SourceSpec, { type: "rpm" }>;

interface BaseDb {
  readonly packages: readonly RpmPackage[];
  readonly file: string;
}

/** Per build (keyed by the build's findings array): base database and packages of earlier rpm sources. */
interface BuildState {
  base?: Promise<BaseDb | undefined>;
  readonly extension: RpmPackage[];
  readonly shared: SharedFiles;
  notified: boolean;
  sources: number;
}
const builds = new WeakMap<Finding[], BuildState>();

function buildState(ctx: SourceContext): BuildState {
  let s = builds.get(ctx.findings);
  if (!s) {
    s = { extension: [], shared: new Map(), notified: false, sources: 0 };
    builds.set(ctx.findings, s);
  }
  return s;
}

/**
 * Add the packages of an rpm source. Returns the version-release of `versionFrom` (default: the first
 * package) without its epoch, for SYSEXT_VERSION_ID.
 */
export async function addRpmSource(
  builder: TreeBuilder,
  source: RpmSource,
  ctx: SourceContext,
): Promise<SourceResult> {
  const state = buildState(ctx);
  const sourceNo = ++state.sources;
  const arches = rpmArches(ctx.arch);
  if (arches.length === 0) {
    throw new SysextError("ARCH_UNKNOWN", `no RPM architecture name is known for ${ctx.arch}`, {
      location: { field: "architecture" },
      hint: "rpm sources work for x86-64, arm64, x86, arm, ppc64-le, ppc64, s390x, riscv64 and loongarch64",
    });
  }
  const pkgs = await resolvePackages(source, ctx, arches);
  for (const p of pkgs) checkArchitecture(p, ctx, arches);
  if (!source.skipDependencyCheck) await checkDependencies(pkgs, state, ctx);
  state.extension.push(...pkgs);

  await mkdir(ctx.workDir, { recursive: true });
  let entries = 0;
  for (const p of pkgs) {
    const blobFile = join(ctx.workDir, `rpm-${sourceNo}-${p.name}-${randomBytes(4).toString("hex")}.blob`);
    const report = await extractPayload(builder, p, {
      exclude: source.exclude,
      onConflict: source.onConflict,
      blobFile,
      shared: state.shared,
    });
    entries += report.entries;
    ctx.findings.push(...packageFindings(p, report));
  }
  const main = source.versionFrom === undefined ? pkgs[0] : findVersionPackage(source.versionFrom, pkgs);
  return { entries, ...(main ? { version: `${main.version}-${main.release}` } : {}) };
}

function findVersionPackage(want: string, pkgs: readonly RpmPackage[]): RpmPackage {
  const hit = pkgs.find((p) => p.name === want || p.file === want || basename(p.file) === want);
  if (hit) return hit;
  throw new SysextError(
    "SOURCE_INVALID",
    `versionFrom ${JSON.stringify(want)} is not one of the source's packages`,
    {
      location: { field: "versionFrom" },
      hint: `use one of: ${pkgs.map((p) => p.name).join(", ")}`,
    },
  );
}

function checkArchitecture(p: RpmPackage, ctx: SourceContext, arches: readonly string[]): void {
  if (p.arch === "noarch" || arches.includes(p.arch)) return;
  throw new SysextError(
    "PACKAGE_ARCH",
    `package ${nevra(p)} (${basename(p.file)}) is built for ${p.arch}, but the target architecture is ${ctx.arch} (RPM ${arches.join(" or ")})`,
    {
      location: { file: p.file },
      hint: `download the ${arches[0]} build (dnf download --arch ${arches[0]} ${p.name}) or build for the package's architecture with --arch`,
    },
  );
}

async function checkDependencies(
  pkgs: readonly RpmPackage[],
  state: BuildState,
  ctx: SourceContext,
): Promise<void> {
  const root = ctx.base.root;
  const note = (severity: Finding["severity"], message: string, hint: string) => {
    if (state.notified) return;
    ctx.findings.push({ code: "rpm-dependencies", severity, message, hint });
    state.notified = true;
  };
  if (root === undefined) {
    note(
      "info",
      "package dependencies were not checked: the base was given without a root directory, so its rpm database is unknown",
      "pass the base root directory (with usr/lib/sysimage/rpm/rpmdb.sqlite) as --base to check Requires, or set skipDependencyCheck on the rpm source",
    );
    return;
  }
  state.base ??= (async () => {
    const db = await readRpmdb(root);
    if (db.kind === "sqlite") {
      if (db.walPending)
        ctx.findings.push({
          code: "rpm-dependencies",
          severity: "warning",
          message: `${db.file}-wal is not empty: changes not yet checkpointed into the database are not seen`,
          hint: "run 'rpm --root BASE_ROOT --rebuilddb' (or any rpm query) on the base to checkpoint it",
        });
      return { packages: db.packages, file: db.file };
    }
    if (db.kind === "unsupported") {
      note(
        "warning",
        `package dependencies were not checked: ${db.file} is an rpm database in the ${db.backend} format, which sysextkit does not read`,
        "convert it once: rpmdb --root BASE_ROOT --rebuilddb --define '_db_backend sqlite' (or set skipDependencyCheck: true)",
      );
      return undefined;
    }
    const profile = baseProfile(ctx.base);
    note(
      profile.packages === "rpm" ? "warning" : "info",
      `package dependencies were not checked: the base root ${root} has no rpm database (usr/lib/sysimage/rpm or var/lib/rpm)`,
      "for a base without rpm, make sure it provides what the packages need, and set skipDependencyCheck: true on the rpm source",
    );
    return undefined;
  })();
  const base = await state.base;
  if (base === undefined) return;
  const index = new ProvideIndex();
  for (const p of base.packages) index.add(p, "base");
  for (const p of [...state.extension, ...pkgs]) index.add(p, "extension");
  const missing = findMissingRequires(pkgs, index);
  if (missing.length > 0) throw requiresError(missing, base.file);
}

/** Resolve the source's packages to files (names: the newest fitting package in `dir`) and read their headers. */
async function resolvePackages(
  source: RpmSource,
  ctx: SourceContext,
  arches: readonly string[],
): Promise<RpmPackage[]> {
  const explicit = source.packages.filter((p) => p.includes("/") || p.endsWith(".rpm"));
  const names = source.packages.filter((p) => !explicit.includes(p));
  const out: RpmPackage[] = [];
  for (const p of explicit) out.push(await readRpmPackage(resolveSourcePath(ctx.specDir, p)));
  if (names.length === 0 && !source.allInDir) return out;
  const absDir = resolveSourcePath(ctx.specDir, source.dir);
  let files: string[];
  try {
    files = (await readdir(absDir))
      .filter((n) => n.endsWith(".rpm") && !n.endsWith(".src.rpm"))
      .sort(comparePaths);
  } catch (e) {
    throw new SysextError(
      "PACKAGE_INVALID",
      `package directory ${absDir} does not exist or cannot be read (looking for ${names.join(", ") || "packages"})`,
      {
        location: { file: absDir, field: "dir" },
        cause: e,
        hint: `download the packages into it first, e.g. dnf download --resolve --destdir=${absDir} ${names.join(" ")}`,
      },
    );
  }
  // Headers are read once per file; the file name only narrows the candidates (names contain dashes).
  const read = new Map<string, RpmPackage>();
  const header = async (n: string) => {
    let p = read.get(n);
    if (!p) read.set(n, (p = await readRpmPackage(join(absDir, n))));
    return p;
  };
  const fits = (p: RpmPackage) => p.arch === "noarch" || arches.includes(p.arch);
  const newest = (cands: RpmPackage[]) =>
    cands.sort((a, b) => compareEvr(evr(b), evr(a)) || comparePaths(basename(a.file), basename(b.file)))[0];
  for (const name of names) {
    const cands: RpmPackage[] = [];
    for (const n of files)
      if (n.startsWith(`${name}-`)) {
        const p = await header(n);
        if (p.name === name) cands.push(p);
      }
    // Only other architectures present: take one anyway so the architecture check names the mismatch.
    const best = newest(cands.filter(fits)) ?? newest(cands);
    if (!best) {
      const listing =
        files.length === 0
          ? "it holds no .rpm files"
          : `it holds ${files.length} .rpm file(s): ${files.slice(0, 12).join(", ")}${files.length > 12 ? ", ..." : ""}`;
      throw new SysextError("PACKAGE_INVALID", `package ${name} not found in ${absDir}; ${listing}`, {
        location: { file: absDir, field: `packages[${source.packages.indexOf(name)}]` },
        hint: `download it: dnf download --arch ${arches[0]} --arch noarch --destdir=${absDir} ${name}, or give the path to the .rpm file`,
      });
    }
    out.push(best);
  }
  if (source.allInDir) {
    const taken = new Set(out.map((p) => p.name));
    const byName = new Map<string, RpmPackage[]>();
    for (const n of files) {
      const p = await header(n);
      if (taken.has(p.name) || !fits(p)) continue;
      byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
    }
    for (const name of [...byName.keys()].sort(comparePaths)) out.push(newest(byName.get(name)!)!);
  }
  return out;
}

const evr = (p: RpmPackage) => parseEvr(`${p.epoch ?? 0}:${p.version}-${p.release}`);
