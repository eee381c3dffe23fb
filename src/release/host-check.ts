// The host merge decision: would systemd-sysext (of a given version) merge this image on this host, and why.
//
// Sources (systemd): v252 src/shared/extension-release.c + src/basic/os-util.c + discover-image.c;
// v254+ src/shared/extension-util.c (same order, confext added); v255 discover-image.c extract_image_basename
// (optional ".sysext" before ".raw"); v256 os-util.c path_extract_image_name (cut at '_'/'+' in the fallback);
// v258 (PR #37648, backported to 257.x stable) ID_LIKE. Checked against the real systemd-sysext 252
// (test/release/host-agreement.test.ts) and 257 and 262 (host-agreement-newer.test.ts, in Debian roots);
// 253-256 are modelled from source only.
import type { BaseRelease } from "../base/base.js";
import type { SystemdArch } from "../base/arch.js";

export interface HostIdentity {
  id: string;
  versionId?: string;
  sysextLevel?: string;
  idLike: readonly string[];
  arch: SystemdArch;
}

export interface MergeCheckInput {
  /** File name as installed, e.g. oem-azure.raw (a symlink's own name counts, not its target's). */
  imageFileName: string;
  /** File names in usr/lib/extension-release.d of the image (regular files). */
  releaseFiles: readonly string[];
  /** Content of the release file that would be used. */
  release: Readonly<Record<string, string>> | undefined;
  /** Value of user.extension-release.strict on the release file(s), undefined when absent. */
  strictXattr: string | undefined;
  host: HostIdentity;
  /** Major systemd version (252, 255, 256, 257, 258, ...). */
  systemdVersion: number;
  initrd?: boolean;
  /** Per-file xattr values; override strictXattr for the files named. */
  strictXattrs?: Readonly<Record<string, string | undefined>>;
  /** The image contains usr/lib/os-release (refused; aborts the whole merge, verified on v252). */
  containsOsRelease?: boolean;
  /** A directory image: discovered under its own name, no ".raw" suffix (discover-image.c, v252+). */
  directory?: boolean;
}

export interface MergeStep {
  rule: string;
  ok: boolean;
  detail: string;
}

export interface MergeVerdict {
  merges: boolean;
  reason: string;
  steps: MergeStep[];
  /** true: systemd-sysext merge fails as a whole ("Failed to read metadata ..."), not just for this image. */
  abortsMerge: boolean;
}

export function hostFromBase(b: BaseRelease): HostIdentity {
  return {
    id: b.id,
    ...(b.versionId === undefined ? {} : { versionId: b.versionId }),
    ...(b.sysextLevel === undefined ? {} : { sysextLevel: b.sysextLevel }),
    idLike: b.idLike,
    arch: b.arch,
  };
}

/** systemd's image_name_is_valid (os-util.c / discover-image.c, v252+). */
export function imageNameIsValid(s: string): boolean {
  if (s === "" || s === "." || s === ".." || s.includes("/") || Buffer.byteLength(s) > 255) return false;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || c === 0x7f) return false;
  }
  return !s.startsWith(".#");
}

/**
 * The image name systemd derives from a regular file in an extension directory, or undefined when the file
 * is not discovered. v252-v254: must end in ".raw", name = file name minus ".raw" (so "x.sysext.raw" is
 * named "x.sysext"). v255+ (discover-image.c extract_image_basename): also drops an optional ".sysext".
 */
export function imageNameFromFile(fileName: string, systemdVersion: number): string | undefined {
  if (!fileName.endsWith(".raw")) return undefined;
  let name = fileName.slice(0, -".raw".length);
  if (systemdVersion >= 255 && name.endsWith(".sysext")) name = name.slice(0, -".sysext".length);
  return imageNameIsValid(name) ? name : undefined;
}

/** v256+ path_extract_image_name: cut at the first '_' or '+' (version/counter suffixes). */
export function baseImageName(name: string): string {
  const i = name.search(/[_+]/);
  return i < 0 ? name : name.slice(0, i);
}

const STRICT = "user.extension-release.strict";

/** systemd parse_boolean: the values that count as false. */
function isFalse(v: string | undefined): boolean {
  return v !== undefined && ["0", "no", "n", "false", "f", "off"].includes(v.toLowerCase());
}

export interface ReleaseFilePick {
  /** The file systemd reads, when it finds exactly one. */
  file: string | undefined;
  /** Error that aborts the whole merge when no unique file is found (ENOENT -> "No medium found", ENOTUNIQ). */
  error: string | undefined;
  detail: string;
}

/**
 * Which release file systemd reads (os-util.c open_extension_release): extension-release.<image name>;
 * otherwise the single other extension-release.* whose user.extension-release.strict xattr is false; v256+
 * also accepts, without the xattr, the file named after the image name cut at the first '_' or '+'.
 */
export function pickReleaseFile(
  imageName: string,
  releaseFiles: readonly string[],
  strictXattr: string | undefined | Readonly<Record<string, string | undefined>>,
  systemdVersion: number,
): ReleaseFilePick {
  const prefix = "extension-release.";
  const exact = `${prefix}${imageName}`;
  if (releaseFiles.includes(exact)) return { file: exact, error: undefined, detail: `found ${exact}` };
  const xattrOf = (f: string): string | undefined =>
    typeof strictXattr === "object" && strictXattr !== null ? strictXattr[f] : strictXattr;
  const base = systemdVersion >= 256 ? baseImageName(imageName) : undefined;
  const accepted: string[] = [];
  for (const f of releaseFiles) {
    if (!f.startsWith(prefix)) continue;
    const suffix = f.slice(prefix.length);
    if (!imageNameIsValid(suffix)) continue;
    if ((base !== undefined && suffix === base) || isFalse(xattrOf(f))) accepted.push(f);
  }
  if (accepted.length === 1) {
    const f = accepted[0]!;
    const why =
      base !== undefined && f === `${prefix}${base}`
        ? `image name without its _/+ suffix (v256+)`
        : `${STRICT} is false`;
    return { file: f, error: undefined, detail: `no ${exact}; using ${f} (${why})` };
  }
  if (accepted.length > 1) {
    return {
      file: undefined,
      error: "Name not unique on network",
      detail: `no ${exact} and several fallback candidates: ${accepted.join(", ")}`,
    };
  }
  const others = releaseFiles.filter((f) => f.startsWith(prefix));
  return {
    file: undefined,
    error: "No medium found",
    detail:
      others.length === 0
        ? `no ${exact} in usr/lib/extension-release.d`
        : `no ${exact}; ${others.join(", ")} ${others.length === 1 ? "does" : "do"} not carry ${STRICT}=0`,
  };
}

function words(v: string | undefined): string[] {
  return (v ?? "").split(/\s+/).filter(Boolean);
}

/** Mirror of systemd-sysext's decision for one raw image. The validation order is extension_release_validate(). */
export function checkMerge(input: MergeCheckInput): MergeVerdict {
  const steps: MergeStep[] = [];
  const v = input.systemdVersion;
  const fail = (rule: string, detail: string, abortsMerge = false): MergeVerdict => {
    steps.push({ rule, ok: false, detail });
    return { merges: false, reason: detail, steps, abortsMerge };
  };
  const pass = (rule: string, detail: string): void => {
    steps.push({ rule, ok: true, detail });
  };

  // Discovery (discover-image.c): regular files ending in .raw; v255+ strips an optional .sysext too.
  const name = input.directory
    ? imageNameIsValid(input.imageFileName)
      ? input.imageFileName
      : undefined
    : imageNameFromFile(input.imageFileName, v);
  if (name === undefined) {
    return fail(
      "discovery",
      `${input.imageFileName} is not picked up by systemd ${v}: raw images must be named NAME.raw${v >= 255 ? " or NAME.sysext.raw" : ""} with a valid NAME`,
    );
  }
  pass("discovery", `image name ${JSON.stringify(name)} (from ${input.imageFileName})`);

  // Release file lookup (os-util.c open_extension_release); a failure here fails image_read_metadata() and so
  // the whole `systemd-sysext merge` ("Failed to read metadata for image NAME: No medium found"), all versions.
  const pick = pickReleaseFile(name, input.releaseFiles, input.strictXattrs ?? input.strictXattr, v);
  if (pick.file === undefined) {
    return fail(
      "release-file",
      `${pick.detail}; systemd-sysext merge fails as a whole ("Failed to read metadata for image ${name}: ${pick.error ?? ""}")`,
      true,
    );
  }
  pass("release-file", pick.detail);

  // usr/lib/os-release inside the image is refused: v252 aborts the merge of every image; 257 and later
  // (verified on 257 and 262) fail to mount just this image ("No medium found") and merge the others.
  if (input.containsOsRelease) {
    return v >= 257
      ? fail(
          "os-release",
          "the image contains usr/lib/os-release, which systemd-sysext refuses; the image is ignored",
        )
      : fail(
          "os-release",
          "the image contains usr/lib/os-release, which systemd-sysext refuses; the whole merge fails",
          true,
        );
  }

  const rel = input.release ?? {};
  if (Object.keys(rel).length === 0)
    return fail("release-data", `${pick.file} is empty; the image is ignored`);

  // 1. SYSEXT_SCOPE (default "system portable") must contain the host scope (v252+).
  const scope = input.initrd ? "initrd" : "system";
  const scopes = rel.SYSEXT_SCOPE === undefined ? ["system", "portable"] : words(rel.SYSEXT_SCOPE);
  if (!scopes.includes(scope))
    return fail("scope", `SYSEXT_SCOPE=${JSON.stringify(rel.SYSEXT_SCOPE ?? "")} does not include ${scope}`);
  pass("scope", `scope ${scope} allowed`);

  // 2. ARCHITECTURE: empty/absent, _any, or exactly systemd's spelling of the machine (v252+).
  const arch = rel.ARCHITECTURE ?? "";
  if (arch !== "" && arch !== "_any" && arch !== input.host.arch) {
    return fail(
      "architecture",
      `ARCHITECTURE=${arch} does not match the host architecture ${input.host.arch}`,
    );
  }
  pass("architecture", arch === "" ? "no ARCHITECTURE (any)" : `ARCHITECTURE=${arch}`);

  // 3. ID: required; _any accepts at once (v252+); ID_LIKE words of the host also match (v258, backported to 257.x).
  const id = rel.ID ?? "";
  if (id === "")
    return fail("id", "the release file has no ID= (use ID=_any for host-independent extensions)");
  if (id === "_any") {
    pass("id", "ID=_any matches every host (no version check)");
    return { merges: true, reason: "ID=_any", steps, abortsMerge: false };
  }
  const likeOk = v >= 257 && input.host.idLike.includes(id);
  if (id !== input.host.id && !likeOk) {
    const likeNote =
      input.host.idLike.length > 0 && v < 257
        ? ` (ID_LIKE=${input.host.idLike.join(" ")} is only considered by systemd 257+)`
        : "";
    return fail("id", `ID=${id} does not match host ID=${input.host.id}${likeNote}`);
  }
  pass("id", id === input.host.id ? `ID=${id}` : `ID=${id} matches host ID_LIKE`);

  // 4. Host without VERSION_ID and SYSEXT_LEVEL (rolling release): accepted.
  const hostVer = input.host.versionId ?? "";
  const hostLevel = input.host.sysextLevel ?? "";
  if (hostVer === "" && hostLevel === "") {
    pass("version", "host has neither VERSION_ID nor SYSEXT_LEVEL");
    return { merges: true, reason: "ID matches; host has no version", steps, abortsMerge: false };
  }
  // 5. Both have SYSEXT_LEVEL: must be equal, VERSION_ID ignored.
  const extLevel = rel.SYSEXT_LEVEL ?? "";
  if (hostLevel !== "" && extLevel !== "") {
    if (hostLevel !== extLevel)
      return fail("sysext-level", `SYSEXT_LEVEL=${extLevel} differs from host SYSEXT_LEVEL=${hostLevel}`);
    pass("sysext-level", `SYSEXT_LEVEL=${extLevel}`);
  } else if (hostVer !== "") {
    // 6. Otherwise the host VERSION_ID must equal the extension's (string compare).
    const extVer = rel.VERSION_ID ?? "";
    if (extVer === "")
      return fail("version-id", `the release file has no VERSION_ID but the host has VERSION_ID=${hostVer}`);
    if (extVer !== hostVer)
      return fail("version-id", `VERSION_ID=${extVer} differs from host VERSION_ID=${hostVer}`);
    pass("version-id", `VERSION_ID=${extVer}`);
  } else {
    // Host has only SYSEXT_LEVEL, the extension none: systemd falls through and accepts.
    pass("version", "host has SYSEXT_LEVEL only and the extension none: accepted");
  }
  return { merges: true, reason: "release matches the host", steps, abortsMerge: false };
}
