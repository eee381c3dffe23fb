// The extension-release file: which fields an image carries (binding to the base) and the tree entry for it.
import { SysextError } from "../errors.js";
import type { BaseRelease } from "../base/base.js";
import type { ExtensionSpec } from "../spec/schema.js";
import type { FileEntry } from "../tree/types.js";
import { renderEnvFile } from "../util/kv-writer.js";

/** Directory of the release file inside a sysext image (systemd os-util.c, all versions). */
export const EXTENSION_RELEASE_DIR = "usr/lib/extension-release.d";

/** xattr that lets systemd accept a release file whose name differs from the image name (v248+). */
export const STRICT_XATTR = "user.extension-release.strict";

export interface ReleaseFieldsInput {
  /** The sysext NAME (image <name>.raw, file extension-release.<name>). */
  readonly name: string;
  readonly spec: ExtensionSpec;
  readonly base: BaseRelease;
  /** SYSEXT_VERSION_ID: the version of the bundled tools (not of the OS). */
  readonly version: string | undefined;
}

/**
 * The KEY=value pairs of extension-release.<name>, in a fixed order: the binding keys systemd validates
 * (ID, VERSION_ID or SYSEXT_LEVEL, ARCHITECTURE, SYSEXT_SCOPE), behaviour keys, informational SYSEXT_* keys,
 * then spec.release.extra sorted by key.
 */
export function releaseFields(input: ReleaseFieldsInput): Array<[string, string]> {
  const { name, spec, base, version } = input;
  const binding = spec.base.binding;
  const out: Array<[string, string]> = [];
  // ID=_any matches every host and skips the version check (systemd v252, extension-release.c).
  out.push(["ID", binding === "any" ? "_any" : base.id]);
  if (binding === "strict") {
    if (!base.versionId) {
      throw new SysextError(
        "BASE_INVALID",
        `base release ${base.source} has no VERSION_ID, so binding 'strict' cannot pin the extension to it`,
        {
          location: { file: base.source, field: "VERSION_ID" },
          hint: "use 'base.binding: sysext-level' with the base's SYSEXT_LEVEL (or base.sysextLevel), or 'base.binding: any', or pass a base with VERSION_ID",
        },
      );
    }
    out.push(["VERSION_ID", base.versionId]);
  } else if (binding === "sysext-level") {
    const level = spec.base.sysextLevel ?? base.sysextLevel;
    if (!level) {
      throw new SysextError(
        "BASE_INVALID",
        `binding 'sysext-level' needs a SYSEXT_LEVEL, but neither the spec nor base ${base.source} has one`,
        {
          location: { field: "base.sysextLevel" },
          hint: "set base.sysextLevel in extension.yaml, or use a base whose os-release has SYSEXT_LEVEL=, or use 'base.binding: strict'",
        },
      );
    }
    out.push(["SYSEXT_LEVEL", level]);
  }
  out.push(["ARCHITECTURE", base.arch]);
  const release = spec.release;
  if (release.scope && release.scope.length > 0) out.push(["SYSEXT_SCOPE", release.scope.join(" ")]);
  // daemon-reload after merge: systemd v255+; older versions ignore the key.
  if (release.reloadManager) out.push(["EXTENSION_RELOAD_MANAGER", "1"]);
  if (release.restartUnits.length > 0) out.push(["EXTENSION_RESTART_UNITS", release.restartUnits.join(" ")]);
  if (release.reloadOrRestartUnits.length > 0) {
    out.push(["EXTENSION_RELOAD_OR_RESTART_UNITS", release.reloadOrRestartUnits.join(" ")]);
  }
  const md = spec.metadata;
  out.push(["SYSEXT_ID", md.id ?? name]);
  if (md.displayName !== undefined) out.push(["SYSEXT_NAME", md.displayName]);
  if (version !== undefined) out.push(["SYSEXT_VERSION_ID", version]);
  if (md.homeUrl !== undefined) out.push(["SYSEXT_HOME_URL", md.homeUrl]);
  if (md.bugReportUrl !== undefined) out.push(["SYSEXT_BUG_REPORT_URL", md.bugReportUrl]);

  const reserved = new Set([
    "ID",
    "VERSION_ID",
    "SYSEXT_LEVEL",
    "ARCHITECTURE",
    "SYSEXT_SCOPE",
    "EXTENSION_RELOAD_MANAGER",
    "EXTENSION_RESTART_UNITS",
    "EXTENSION_RELOAD_OR_RESTART_UNITS",
    "SYSEXT_ID",
    "SYSEXT_NAME",
    "SYSEXT_VERSION_ID",
    "SYSEXT_HOME_URL",
    "SYSEXT_BUG_REPORT_URL",
  ]);
  const extraKeys = Object.keys(release.extra).sort();
  for (const key of extraKeys) {
    if (reserved.has(key)) {
      throw new SysextError(
        "SPEC_INVALID",
        `release.extra may not set ${key}; sysextkit writes it from the spec and the base`,
        {
          location: { field: `release.extra.${key}` },
          hint: `remove ${key} from release.extra and use the matching spec field (base.binding, metadata, release.scope, ...)`,
        },
      );
    }
    out.push([key, release.extra[key] ?? ""]);
  }
  return out;
}

/** The spec field each generated release key comes from (named when a value cannot be written). */
const RELEASE_KEY_FIELDS: Readonly<Record<string, string>> = {
  SYSEXT_ID: "metadata.id",
  SYSEXT_NAME: "metadata.displayName",
  SYSEXT_VERSION_ID: "metadata.version",
  SYSEXT_HOME_URL: "metadata.homeUrl",
  SYSEXT_BUG_REPORT_URL: "metadata.bugReportUrl",
  SYSEXT_LEVEL: "base.sysextLevel",
  EXTENSION_RESTART_UNITS: "release.restartUnits",
  EXTENSION_RELOAD_OR_RESTART_UNITS: "release.reloadOrRestartUnits",
};

/** The text of extension-release.<name>, through the one KEY=value writer (control characters refused). */
export function renderReleaseFile(name: string, fields: ReadonlyArray<readonly [string, string]>): string {
  return renderEnvFile(
    `extension-release.${name}`,
    fields.map(
      ([k, v]) =>
        [
          k,
          v,
          RELEASE_KEY_FIELDS[k] ?? (/^(ID|VERSION_ID|ARCHITECTURE)$/.test(k) ? "base" : `release.extra.${k}`),
        ] as const,
    ),
  );
}

/** The tree entry usr/lib/extension-release.d/extension-release.<name> (0644, env-file format). */
export function releaseFileEntry(
  name: string,
  fields: ReadonlyArray<readonly [string, string]>,
  nonStrictName: boolean,
): FileEntry {
  const data = new TextEncoder().encode(renderReleaseFile(name, fields));
  return {
    type: "file",
    path: `${EXTENSION_RELEASE_DIR}/extension-release.${name}`,
    mode: 0o644,
    size: data.byteLength,
    content: { kind: "bytes", data },
    // "0" = false for systemd's parse_boolean: accept the file under another image name (os-util.c, v248+).
    ...(nonStrictName ? { xattrs: { [STRICT_XATTR]: "0" } } : {}),
    origin: "extension-release (generated)",
  };
}
