// Whether a spec supports a base release (its IDs, VERSION_ID range, architectures) and how it binds to it.
import semver from "semver";
import type { Finding } from "../checks/finding.js";
import { SysextError } from "../errors.js";
import type { LoadedSpec } from "../spec/load.js";
import type { BaseRelease } from "./base.js";

/** Refuse bases the spec does not support: ID list, VERSION_ID range, architecture list. */
export function checkBaseSupported(loaded: LoadedSpec, base: BaseRelease, findings: Finding[]): void {
  const { spec, file } = loaded;
  const where = (field: string) => ({ location: { ...(file ? { file } : {}), field } });
  if (spec.base.ids.length > 0 && !spec.base.ids.includes(base.id)) {
    throw new SysextError(
      "BASE_UNSUPPORTED",
      `base ID '${base.id}' is not one of ${spec.base.ids.join(", ")}`,
      {
        ...where("base.ids"),
        hint: `build against a supported base, or add '${base.id}' to base.ids`,
      },
    );
  }
  if (spec.base.versions !== undefined) {
    if (!semver.validRange(spec.base.versions)) {
      throw new SysextError(
        "SPEC_INVALID",
        `base.versions '${spec.base.versions}' is not a valid version range`,
        {
          ...where("base.versions"),
          hint: 'write a range such as ">=3815.0.0 <4000.0.0"',
        },
      );
    }
    const v = base.versionId;
    const parsed =
      v === undefined
        ? null
        : (semver.valid(v) ?? (/^\d+(\.\d+)?$/.test(v) ? (semver.coerce(v)?.version ?? null) : null));
    if (parsed === null) {
      throw new SysextError(
        "BASE_UNSUPPORTED",
        `base VERSION_ID ${v === undefined ? "is missing" : `'${v}' is not semver-shaped`}, so it cannot be checked against base.versions '${spec.base.versions}'`,
        {
          ...where("base.versions"),
          hint: "remove base.versions from the spec, or build against a base whose VERSION_ID looks like 3815.2.0",
        },
      );
    }
    if (!semver.satisfies(parsed, spec.base.versions)) {
      throw new SysextError(
        "BASE_UNSUPPORTED",
        `base ${base.id} ${v} is outside the supported range '${spec.base.versions}'`,
        {
          ...where("base.versions"),
          hint: "build against a supported base release, or widen base.versions in the spec",
        },
      );
    }
  }
  if (spec.architectures && !spec.architectures.includes(base.arch)) {
    throw new SysextError(
      "BASE_UNSUPPORTED",
      `architecture ${base.arch} is not one of the spec's architectures (${spec.architectures.join(", ")})`,
      {
        ...where("architectures"),
        hint: `pass --arch with one of them, or add ${base.arch} to architectures`,
      },
    );
  }
  if (base.archSource === "host") {
    findings.push({
      code: "arch-from-host",
      severity: "info",
      message: `no architecture given; using this machine's (${base.arch})`,
      hint: "pass --arch to build for another architecture",
    });
  }
}

export function describeBinding(binding: "strict" | "sysext-level" | "any", findings: Finding[]): void {
  if (binding === "strict") return;
  findings.push({
    code: binding === "any" ? "binding-any" : "binding-sysext-level",
    severity: "info",
    message:
      binding === "any"
        ? "not bound to a base release: ID=_any merges on every OS"
        : "bound to SYSEXT_LEVEL instead of the exact VERSION_ID",
    hint: "agents that link against the base's libraries should use strict binding",
  });
}
