// The deb source's checks against the base root: its dpkg architecture, and every Depends/Pre-Depends met.
import { join } from "node:path";
import { lookupArch } from "../../base/arch.js";
import { SysextError } from "../../errors.js";
import type { SourceContext } from "../sources/context.js";
import type { DebPackage } from "../sources/deb.js";
import {
  dependencyError,
  findMissingDependencies,
  PackageIndex,
  readBaseStatus,
  statusArchitecture,
  type AvailablePackage,
} from "./depends.js";

/** Per build (keyed by the build's findings array): base database and packages of earlier deb sources. */
export interface BuildState {
  base?: Promise<AvailablePackage[] | undefined>;
  readonly extension: AvailablePackage[];
  notified: boolean;
  sources: number;
}

export async function checkDependencies(
  pkgs: readonly DebPackage[],
  mine: readonly AvailablePackage[],
  state: BuildState,
  ctx: SourceContext,
  nativeArch: string,
): Promise<void> {
  const root = ctx.base.root;
  if (root === undefined) {
    if (!state.notified) {
      ctx.findings.push({
        code: "deb-dependencies",
        severity: "info",
        message:
          "package dependencies were not checked: the base was given without a root directory, so its package database is unknown",
        hint: "pass the base root directory (with var/lib/dpkg/status) as --base to check Depends, or set skipDependencyCheck on the deb source",
      });
      state.notified = true;
    }
    return;
  }
  state.base ??= readBaseStatus(root);
  const base = await state.base;
  if (base === undefined) {
    if (!state.notified) {
      ctx.findings.push({
        code: "deb-dependencies",
        severity: "warning",
        message: `package dependencies were not checked: the base root ${root} has no var/lib/dpkg/status`,
        hint: "for a base without dpkg, make sure the base provides the libraries the packages need, and set skipDependencyCheck: true on the deb source",
      });
      state.notified = true;
    }
    return;
  }
  checkBaseArchitecture(base, root, ctx, nativeArch);
  const index = new PackageIndex([...base, ...state.extension, ...mine]);
  const missing = findMissingDependencies(
    pkgs.map((p) => p.control.fields),
    index,
    nativeArch,
  );
  if (missing.length > 0) throw dependencyError(missing, join(root, "var/lib/dpkg/status"));
}

/**
 * The base root must be a system of the target architecture: its packages are what the extension's
 * packages link against, and libc6:amd64 satisfies nothing an arm64 package needs.
 */
function checkBaseArchitecture(
  base: readonly AvailablePackage[],
  root: string,
  ctx: SourceContext,
  nativeArch: string,
): void {
  const baseArch = statusArchitecture(base);
  if (baseArch === undefined || baseArch === nativeArch) return;
  const systemd = lookupArch(baseArch);
  const chosen =
    ctx.base.archSource === "host"
      ? `this machine's architecture ${ctx.arch}, the default without --arch`
      : `${ctx.arch} as asked (--arch)`;
  throw new SysextError(
    "PACKAGE_ARCH",
    `the base root ${root} is a Debian ${baseArch} system (the architecture of its dpkg), but the extension is built for ${chosen} (Debian ${nativeArch})`,
    {
      location: { file: join(root, "var/lib/dpkg/status") },
      hint: systemd
        ? `to build for this base pass --arch ${systemd}; to build for ${ctx.arch}, pass a ${nativeArch} base root (debootstrap --arch=${nativeArch})`
        : `pass a ${nativeArch} base root, or set skipDependencyCheck: true on the deb source`,
    },
  );
}
