// Debian package source: read .deb files (ar, control, data.tar.*) into tree entries, check arch and dependencies.
import { randomBytes } from "node:crypto";
import { mkdir, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { debianArch } from "../../base/arch.js";
import type { Finding } from "../../checks/finding.js";
import { SysextError } from "../../errors.js";
import type { SourceSpec } from "../../spec/schema.js";
import { readArMemberBytes, readArMembers, type ArMember } from "../deb/ar.js";
import { interpretControl, readControlTar, type DebControl } from "../deb/control.js";
import { checkDependencies, type BuildState } from "../deb/check-depends.js";
import { parseMultiArch, type AvailablePackage } from "../deb/depends.js";
import { analyzeMaintainerScripts, conffilesFinding } from "../deb/scripts.js";
import { compareDebVersions, stripEpoch } from "../deb/version.js";
import { comparePaths } from "../paths.js";
import type { TreeBuilder } from "../tree.js";
import { resolveSourcePath } from "./common.js";
import type { SourceContext, SourceResult } from "./context.js";
import { openDecompressed, readTarStream } from "./tar-reader.js";

type DebSource = Extract<SourceSpec, { type: "deb" }>;

/** A .deb file whose container and control data have been read. */
export interface DebPackage {
  readonly file: string;
  readonly control: DebControl;
  readonly data: ArMember;
}

const builds = new WeakMap<Finding[], BuildState>();

function buildState(ctx: SourceContext): BuildState {
  let s = builds.get(ctx.findings);
  if (!s) {
    s = { extension: [], notified: false, sources: 0 };
    builds.set(ctx.findings, s);
  }
  return s;
}

/**
 * Add the packages of a deb source. Returns the version of `versionFrom` (default: the first package)
 * with its epoch removed ("1:2.3-1" -> "2.3-1"): SYSEXT_VERSION_ID cannot hold ':' and the epoch only
 * matters for ordering inside Debian. The Debian revision is kept.
 */
export async function addDebSource(
  builder: TreeBuilder,
  source: DebSource,
  ctx: SourceContext,
): Promise<SourceResult> {
  const state = buildState(ctx);
  const sourceNo = ++state.sources;
  const nativeArch = debianArch(ctx.arch);
  const files: string[] = [];
  for (const [i, p] of source.packages.entries())
    files.push(await resolvePackage(p, source.dir, ctx, nativeArch, `packages[${i}]`));

  const pkgs: DebPackage[] = [];
  for (const file of files) pkgs.push(await readDebPackage(file));
  for (const p of pkgs) checkArchitecture(p, ctx, nativeArch);

  const mine: AvailablePackage[] = pkgs.map((p) => ({
    name: p.control.package,
    version: p.control.version,
    architecture: p.control.architecture,
    multiArch: parseMultiArch(p.control.fields.get("multi-arch")),
    provides: p.control.fields.get("provides") ?? "",
    from: `deb source #${sourceNo}`,
  }));
  if (!source.skipDependencyCheck) await checkDependencies(pkgs, mine, state, ctx, nativeArch);
  state.extension.push(...mine);

  await mkdir(ctx.workDir, { recursive: true });
  let entries = 0;
  for (const p of pkgs) {
    const c = p.control;
    const blobFile = join(ctx.workDir, `deb-${sourceNo}-${c.package}-${randomBytes(4).toString("hex")}.blob`);
    entries += await extractData(builder, p, {
      to: "/",
      strip: 0,
      exclude: source.exclude,
      onConflict: source.onConflict,
      origin: `deb ${c.package}_${c.version}_${c.architecture}`,
      blobFile,
    });
    ctx.findings.push(...analyzeMaintainerScripts(c));
    const conf = conffilesFinding(c);
    if (conf) ctx.findings.push(conf);
  }

  const main = source.versionFrom === undefined ? pkgs[0] : findVersionPackage(source, pkgs, files);
  return { entries, ...(main ? { version: stripEpoch(main.control.version) } : {}) };
}

function findVersionPackage(
  source: DebSource,
  pkgs: readonly DebPackage[],
  files: readonly string[],
): DebPackage {
  const want = source.versionFrom!;
  const i = source.packages.indexOf(want);
  const hit =
    i >= 0
      ? pkgs[i]
      : pkgs.find((p) => p.control.package === want || p.file === want || basename(p.file) === want);
  if (hit) return hit;
  throw new SysextError(
    "SOURCE_INVALID",
    `versionFrom ${JSON.stringify(want)} is not one of the source's packages`,
    {
      location: { field: "versionFrom" },
      hint: `use one of: ${pkgs.map((p) => p.control.package).join(", ")} (from ${files.map((f) => basename(f)).join(", ")})`,
    },
  );
}

/** Read the ar container, debian-binary and the control archive of one .deb. */
export async function readDebPackage(file: string): Promise<DebPackage> {
  const members = await readArMembers(file);
  const invalid = (why: string, cause?: unknown) =>
    new SysextError("PACKAGE_INVALID", `${file} is not a valid .deb package: ${why}`, {
      location: { file },
      hint: "the file is corrupt or not a Debian package; download it again (apt-get download <name>) or rebuild it with dpkg-deb --build",
      ...(cause === undefined ? {} : { cause }),
    });
  const db = members.find((m) => m.name === "debian-binary");
  if (!db) throw invalid("it has no debian-binary member");
  const fmt = await readSmall(file, db);
  if (!/^2\.\d+\s*$/.test(fmt))
    throw invalid(`unsupported package format ${JSON.stringify(fmt.trim())} (expected 2.x)`);
  const controlMember = members.find((m) => /^control\.tar(\.(gz|xz|zst|bz2))?$/.test(m.name));
  if (!controlMember) throw invalid("it has no control.tar member");
  const data = members.find((m) => /^data\.tar(\.(gz|xz|zst|bz2|lzma))?$/.test(m.name));
  if (!data) throw invalid("it has no data.tar member");
  let controlFiles;
  try {
    controlFiles = await readControlTar(
      await openDecompressed(file, controlMember.offset, controlMember.size),
      file,
    );
  } catch (e) {
    if (e instanceof SysextError && e.code === "PACKAGE_INVALID") throw e;
    throw invalid(`cannot read ${controlMember.name}: ${(e as Error).message}`, e);
  }
  return { file, control: interpretControl(controlFiles, file), data };
}

async function readSmall(file: string, m: ArMember): Promise<string> {
  return (await readArMemberBytes(file, m, 4096)).toString("latin1");
}

async function extractData(
  builder: TreeBuilder,
  p: DebPackage,
  opts: Omit<Parameters<typeof readTarStream>[2], "archive">,
): Promise<number> {
  try {
    return await readTarStream(builder, await openDecompressed(p.file, p.data.offset, p.data.size), {
      ...opts,
      archive: p.file,
    });
  } catch (e) {
    if (e instanceof SysextError && e.code !== "ARCHIVE_INVALID") throw e;
    throw new SysextError(
      "PACKAGE_INVALID",
      `${p.file}: cannot read ${p.data.name}: ${(e as Error).message}`,
      {
        location: { file: p.file },
        cause: e,
        hint: "the package is corrupt or truncated; download it again (apt-get download <name>)",
      },
    );
  }
}

function checkArchitecture(p: DebPackage, ctx: SourceContext, nativeArch: string): void {
  const arch = p.control.architecture;
  if (arch === nativeArch || arch === "all") return;
  throw new SysextError(
    "PACKAGE_ARCH",
    `package ${p.control.package} (${basename(p.file)}) is built for ${arch}, but the target architecture is ${ctx.arch} (Debian ${nativeArch})`,
    {
      location: { file: p.file },
      hint: `use the ${nativeArch} build (apt-get download ${p.control.package}:${nativeArch}) or build for the package's architecture with --arch`,
    },
  );
}

/** Resolve one `packages` entry to a .deb file: a path, or `<name>_*_<arch|all>.deb` in the source dir. */
async function resolvePackage(
  entry: string,
  dir: string,
  ctx: SourceContext,
  nativeArch: string,
  field: string,
): Promise<string> {
  if (entry.includes("/") || entry.endsWith(".deb")) return resolveSourcePath(ctx.specDir, entry);
  const absDir = resolveSourcePath(ctx.specDir, dir);
  let names: string[];
  try {
    // Sorted, so that equal versions (an _amd64 and an _all build) resolve the same way on every file system.
    names = (await readdir(absDir)).sort(comparePaths);
  } catch (e) {
    throw new SysextError(
      "PACKAGE_INVALID",
      `package directory ${absDir} does not exist or cannot be read (looking for ${entry})`,
      {
        location: { file: absDir, field: "dir" },
        cause: e,
        hint: `download the packages into it first, e.g. (cd ${absDir} && apt-get download ${entry}), or fix the deb source's 'dir'`,
      },
    );
  }
  const candidates: Array<{ name: string; version: string; arch: string }> = [];
  for (const n of names) {
    const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(n);
    if (!m || m[1] !== entry) continue;
    candidates.push({ name: n, version: m[2]!.replace(/%3a/gi, ":"), arch: m[3]! });
  }
  const fitting = candidates.filter((c) => c.arch === nativeArch || c.arch === "all");
  // Only other architectures present: take one anyway so the architecture check names the mismatch.
  const pool = fitting.length > 0 ? fitting : candidates;
  pool.sort((a, b) => compareDebVersions(b.version, a.version));
  const best = pool[0];
  if (best) return join(absDir, best.name);
  const debs = names.filter((n) => n.endsWith(".deb"));
  const listing =
    debs.length === 0
      ? "it holds no .deb files"
      : `it holds ${debs.length} .deb file(s): ${debs.slice(0, 12).join(", ")}${debs.length > 12 ? ", ..." : ""}`;
  throw new SysextError(
    "PACKAGE_INVALID",
    `package ${entry} not found in ${absDir} (no ${entry}_*_${nativeArch}.deb or ${entry}_*_all.deb); ${listing}`,
    {
      location: { file: absDir, field },
      hint: `download it: (cd ${absDir} && apt-get download ${entry}:${nativeArch}), or give the path to the .deb file`,
    },
  );
}
