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
import type { DdiSigner, SignerInput } from "./image/ddi/signature.js";
import type { VerityInfo } from "./image/ddi/produce.js";
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
  /** ddi: the file system in the root partition (default: the spec's image.filesystem, else erofs). */
  readonly filesystem?: "erofs" | "squashfs";
  /** squashfs/erofs: "sidecar" also writes <name>.verity and <name>.roothash (default: the spec's image.verity). */
  readonly verity?: "none" | "sidecar";
  /** Sign the root hash (ddi, or sidecar verity) with this key and certificate (file, env:NAME, - or PEM). */
  readonly signing?: SignerInput | DdiSigner;
  /** Leave the signature for later: writes <name>.roothash to sign offline, then `sysextkit sign`. */
  readonly signLater?: boolean;
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
  /** Root hash, signature state and companion files of a DDI or sidecar-verity image; else undefined. */
  readonly verity: VerityInfo | undefined;
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
  const filesystem = options.filesystem ?? (format === "ddi" ? spec.image.filesystem : undefined);
  const compression = effectiveCompression(format, options.compression ?? spec.image.compression, filesystem);
  const verityReq = await verityModule()
    .then((m) =>
      m.resolveVerityRequest({
        format,
        filesystem,
        verity:
          options.verity ??
          (options.format === undefined || options.format === spec.image.format
            ? spec.image.verity
            : undefined),
        sign: options.signing,
        signLater: options.signLater,
      }),
    )
    .catch((e: unknown) => {
      throw inSpec(e, specFile);
    });
  // Signing material is read and checked before any work: a bad key leaves nothing behind.
  const signer = verityReq ? await (await verityModule()).prepareSigner(verityReq) : undefined;
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
    const imageOptions = {
      tree,
      format,
      compression,
      compressionLevel: spec.image.compressionLevel,
      blockSize: spec.image.blockSize,
      epoch,
      workDir,
      onProgress: (bytesDone: number, bytesTotal: number) =>
        progress({ phase: "write", message: `writing ${format} image`, bytesDone, bytesTotal }),
    };
    let verity: VerityInfo | undefined;
    if (verityReq) {
      verity = await (
        await verityModule()
      ).writeVerityImage(image, { ...imageOptions, arch: base.arch }, verityReq, signer);
    } else {
      await withAtomicOutput(image, (tmp) => writeImage({ ...imageOptions, out: tmp }), {
        replaceDirectory: format === "directory",
      });
      if (format !== "directory") await (await verityModule()).removeStaleSidecars(image, []);
    }

    if (verity && !verity.signed) {
      findings.push({
        code: "verity-unsigned",
        severity: "info",
        message: verity.signLater
          ? `unsigned ${verity.kind === "ddi" ? "DDI" : "verity image"}: sign ${verity.files.roothash} offline, then run sysextkit sign`
          : `unsigned ${verity.kind === "ddi" ? "DDI" : "verity image"}: nothing proves who made it, and systemd takes its root hash only from ${verity.files.roothash} next to it (without that file systemd 252/257 mount it without dm-verity); a base with the policy root=signed+absent refuses it`,
        hint: "sign with --key KEY --certificate CERT (or --sign-later and sysextkit sign)",
      });
    }
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
      verity,
    });
  } finally {
    await work.remove();
  }
}

/** The verity writer, loaded only by builds that need it. */
function verityModule() {
  return import("./image/ddi/produce.js");
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
