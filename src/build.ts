// The build pipeline: spec + base release -> assembled tree -> checks -> release file -> image, atomically.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SystemdArch } from "./base/arch.js";
import { readBase, type BaseInput, type BaseRelease } from "./base/base.js";
import { checkBaseSupported, describeBinding } from "./base/support.js";
import { blockingFindings, type Finding } from "./checks/finding.js";
import { runChecks } from "./checks/index.js";
import { SysextError } from "./errors.js";
import { effectiveCompression, writeImage } from "./image/index.js";
import { releaseFields, releaseFileEntry, EXTENSION_RELEASE_DIR } from "./release/release-file.js";
import { resolveSpecRef } from "./spec/catalog.js";
import { loadSpecFile, type LoadedSpec } from "./spec/load.js";
import type { Compression, ImageFormat } from "./spec/schema.js";
import { builtinVars, interpolateSource, resolveVars, sourceApplies } from "./spec/vars.js";
import type { SourceContext } from "./tree/sources/context.js";
import { applySelinuxLabels } from "./tree/selinux.js";
import { addSource } from "./tree/sources/index.js";
import { applyTransforms } from "./tree/transform.js";
import { TreeBuilder, treeContentSize } from "./tree/tree.js";
import { digestFile, resolveEpoch, withAtomicOutput } from "./util/fs.js";
import { makeWorkDir } from "./util/temp.js";

/** The templates shipped with the package. */
export const DEFAULT_TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "templates");

export type BuildPhase = "base" | "assemble" | "transform" | "check" | "write" | "hash" | "done";

export interface BuildProgress {
  readonly phase: BuildPhase;
  readonly message: string;
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
}

export interface BuildOptions {
  /**
   * The definition: a loaded spec, or a reference to one: the name of a catalog entry ("oem-vmware",
   * from CATALOG_DIR), an extension.yaml path or a folder holding one.
   */
  readonly spec: LoadedSpec | string;
  /** The base release: an already read one, or where to read it from. */
  readonly base: BaseRelease | BaseInput;
  /** Directory the image is written to (as <name>.raw, or <name>/ for the directory format). */
  readonly outDir: string;
  readonly format?: ImageFormat;
  readonly compression?: Compression;
  /** Variable overrides (CLI --var). */
  readonly vars?: Readonly<Record<string, string>>;
  /** Warnings fail the build too. */
  readonly strict?: boolean;
  readonly templatesDir?: string;
  /** Build epoch; default SOURCE_DATE_EPOCH or 0. */
  readonly epoch?: number;
  /** Force user.extension-release.strict=0 on the release file (images published under versioned names). */
  readonly nonStrictName?: boolean;
  /** SYSEXT_VERSION_ID, overriding the spec's metadata.version and package versions. */
  readonly version?: string;
  /** File name of the image inside outDir (default <name>.raw). */
  readonly imageFileName?: string;
  readonly onProgress?: (p: BuildProgress) => void;
}

export interface BuildResult {
  readonly name: string;
  readonly image: string;
  readonly format: ImageFormat;
  readonly compression: Compression | undefined;
  readonly size: number;
  /** SHA-256 of the image (hex); undefined for the directory format. */
  readonly sha256: string | undefined;
  readonly arch: SystemdArch;
  readonly base: { readonly id: string; readonly versionId: string | undefined; readonly source: string };
  /** The key/value pairs written to the release file, in order. */
  readonly release: Readonly<Record<string, string>>;
  readonly releaseFile: string;
  readonly version: string | undefined;
  readonly nonStrictName: boolean;
  readonly findings: readonly Finding[];
  readonly entries: number;
  readonly contentBytes: number;
}

function isBaseRelease(b: BaseRelease | BaseInput): b is BaseRelease {
  return typeof (b as BaseRelease).id === "string" && "arch" in b && "archSource" in b;
}

/** Build one extension image. Nothing appears at the output path unless the whole build succeeds. */
export async function buildExtension(options: BuildOptions): Promise<BuildResult> {
  const loaded =
    typeof options.spec === "string" ? await loadSpecFile(await resolveSpecRef(options.spec)) : options.spec;
  const { spec, file: specFile, dir: specDir } = loaded;
  const progress = options.onProgress ?? (() => undefined);
  const epoch = resolveEpoch(process.env, options.epoch);
  const findings: Finding[] = [];
  if (options.version !== undefined && !/^[A-Za-z0-9._+~:-]+$/.test(options.version)) {
    throw new SysextError(
      "USAGE",
      `version ${JSON.stringify(options.version)} is not a valid SYSEXT_VERSION_ID`,
      {
        hint: "use letters, digits and ._+~:- only, e.g. 12.2.0-1",
      },
    );
  }

  progress({ phase: "base", message: "reading base release" });
  const base = isBaseRelease(options.base) ? options.base : await readBase(options.base);
  checkBaseSupported(loaded, base, findings);
  const format = options.format ?? spec.image.format;
  const compression = effectiveCompression(format, options.compression ?? spec.image.compression);
  const templatesDir = options.templatesDir ?? DEFAULT_TEMPLATES_DIR;
  const builtins = builtinVars({ spec, base, arch: base.arch, specDir, templatesDir });
  const vars = resolveVars(spec, builtins, options.vars, specFile);

  const work = await makeWorkDir("build");
  const workDir = work.dir;
  try {
    const ctx: SourceContext = {
      specDir,
      templatesDir,
      vars,
      base,
      arch: base.arch,
      workDir,
      epoch,
      findings,
    };
    const builder = new TreeBuilder();
    let version = options.version ?? spec.metadata.version;
    let index = 0;
    for (const raw of spec.sources) {
      const i = index++;
      if (!sourceApplies(raw, vars)) continue;
      const source = interpolateSource(raw, vars, i, specFile);
      progress({ phase: "assemble", message: `source ${i + 1}/${spec.sources.length}: ${source.type}` });
      const result = await addSource(builder, source, ctx).catch((e: unknown) => {
        throw inSpec(e, specFile, `sources[${i}]`);
      });
      if (version === undefined && result.version !== undefined) version = result.version;
    }

    progress({ phase: "transform", message: "relocating, stripping, enabling services" });
    try {
      findings.push(...applyTransforms(builder, spec, { ...ctx, name: spec.name }, version));
    } catch (e) {
      throw inSpec(e, specFile);
    }

    let fields: Array<[string, string]>;
    const nonStrictName = options.nonStrictName ?? spec.release.nonStrictName;
    let releaseEntry: ReturnType<typeof releaseFileEntry>;
    try {
      fields = releaseFields({ name: spec.name, spec, base, version });
      releaseEntry = releaseFileEntry(spec.name, fields, nonStrictName);
    } catch (e) {
      throw inSpec(e, specFile);
    }
    builder.add(releaseEntry, "replace");
    describeBinding(spec.base.binding, findings);
    // Labels last, so that relocated and generated entries (the release file too) get theirs.
    findings.push(
      ...(await applySelinuxLabels(builder, base, spec.selinux).catch((e: unknown) => {
        throw inSpec(e, specFile);
      })),
    );

    progress({ phase: "check", message: "checking the tree" });
    findings.push(
      ...runChecks(builder, {
        name: spec.name,
        spec,
        base,
        ...(loaded.advice ? { advice: loaded.advice } : {}),
      }),
    );
    const blocking = blockingFindings(findings, options.strict ?? false);
    if (blocking.length > 0) {
      const first = blocking[0]!;
      throw new SysextError(
        "CHECK_FAILED",
        `${blocking.length} check(s) failed; first: ${first.path ? `${first.path}: ` : ""}${first.message}`,
        {
          ...(specFile ? { location: { file: specFile } } : {}),
          ...(first.hint ? { hint: first.hint } : {}),
          details: findings,
        },
      );
    }

    const tree = builder.build();
    const total = treeContentSize(tree);
    const fileName = options.imageFileName ?? (format === "directory" ? spec.name : `${spec.name}.raw`);
    const image = resolve(options.outDir, fileName);
    progress({ phase: "write", message: `writing ${format} image`, bytesDone: 0, bytesTotal: total });
    await withAtomicOutput(
      image,
      (tmp) =>
        writeImage({
          tree,
          out: tmp,
          format,
          compression,
          compressionLevel: spec.image.compressionLevel,
          blockSize: spec.image.blockSize,
          epoch,
          workDir,
          onProgress: (bytesDone, bytesTotal) =>
            progress({ phase: "write", message: `writing ${format} image`, bytesDone, bytesTotal }),
        }),
      { replaceDirectory: format === "directory" },
    );

    progress({ phase: "hash", message: "hashing" });
    const digest = format === "directory" ? undefined : await digestFile(image);
    progress({ phase: "done", message: `built ${image}` });
    return Object.freeze({
      name: spec.name,
      image,
      format,
      compression,
      size: digest?.size ?? total,
      sha256: digest?.sha256,
      arch: base.arch,
      base: { id: base.id, versionId: base.versionId, source: base.source },
      release: Object.freeze(Object.fromEntries(fields)),
      releaseFile: `${EXTENSION_RELEASE_DIR}/extension-release.${spec.name}`,
      version,
      nonStrictName,
      findings: Object.freeze([...findings]),
      entries: tree.entries.length,
      contentBytes: total,
    });
  } finally {
    await work.remove();
  }
}

/**
 * An error about a spec field that does not name a file yet: point it at the spec file, with the field
 * below `prefix` (e.g. "sources[2]" + "to"). Errors that already name a file (an archive, a template,
 * the base) keep their location; everything else passes through unchanged.
 */
function inSpec(e: unknown, specFile: string | undefined, prefix?: string): unknown {
  if (!(e instanceof SysextError) || e.location?.file !== undefined) return e;
  if (specFile === undefined && prefix === undefined) return e;
  const field = e.location?.field;
  if (field === undefined && prefix === undefined) return e;
  const full = prefix === undefined ? field : field === undefined ? prefix : `${prefix}.${field}`;
  return new SysextError(e.code, e.message, {
    location: { ...e.location, ...(specFile ? { file: specFile } : {}), ...(full ? { field: full } : {}) },
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    ...(e.cause === undefined ? {} : { cause: e.cause }),
    ...(e.details === undefined ? {} : { details: e.details }),
  });
}
