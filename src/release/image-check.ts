// `sysextkit check`'s library call: would a host's systemd-sysext merge this image, judged on the release file
// and on the image's content (usr/lib/os-release, what lies outside usr/ and opt/, usr/sbin, overlay markers).
import { basename } from "node:path";
import type { BaseRelease } from "../base/base.js";
import { checkContent } from "../checks/content.js";
import type { Finding } from "../checks/finding.js";
import { checkOsRelease, checkOutsideUsrOpt, checkUsrSbin, sortedPaths } from "../checks/layout.js";
import { viewOfListing, type TreeView } from "../checks/view.js";
import { inspectImage, type ImageInfo } from "../image/inspect.js";
import type { SecretRef } from "../util/secret.js";
import { checkMerge, hostFromBase, type HostIdentity, type MergeVerdict } from "./host-check.js";

export interface ImageCheckOptions {
  /** A raw image (squashfs, erofs) or a directory extension. */
  readonly image: string;
  /** The host's release (readBase of its os-release file or root directory; a root tells its usr/sbin). */
  readonly host: BaseRelease;
  /** Major version of the host's systemd (default 252). */
  readonly systemdVersion?: number;
  /** The file name the image is installed under (default: its own name). */
  readonly as?: string;
  readonly initrd?: boolean;
  /** The host's root directory: the certificates in its verity.d are trusted for DDI signatures. */
  readonly hostRoot?: string;
  /** More certificates the host trusts for verity signatures (file, env:NAME, - or PEM). */
  readonly certificates?: readonly SecretRef[];
  /** The --image-policy the host's systemd-sysext runs with (default: its built-in policy). */
  readonly policy?: string;
}

export interface ImageCheckResult extends MergeVerdict {
  readonly image: string;
  readonly format: ImageInfo["format"];
  readonly systemdVersion: number;
  readonly host: HostIdentity;
  /** What the merge would do wrong or ignore (os-release, outside usr/opt, usr/sbin, whiteouts, devices). */
  readonly findings: readonly Finding[];
  /** How the image's root partition would be used under the policy (DDIs and verity images). */
  readonly usedAs?: "signed" | "verity" | "unprotected" | "refused";
}

/** Judge a finished image the way the host's systemd-sysext would: release file first, then content. */
export async function checkImage(o: ImageCheckOptions): Promise<ImageCheckResult> {
  const systemdVersion = o.systemdVersion ?? 252;
  const info = await inspectImage(o.image);
  const view = viewOfListing(info.files);
  const host = hostFromBase(o.host);
  const verdict = checkMerge({
    imageFileName: o.as ?? basename(o.image),
    releaseFiles: info.releaseFiles,
    release: info.release,
    strictXattr: info.strictXattr,
    strictXattrs: info.strictXattrs,
    host,
    systemdVersion,
    ...(o.initrd ? { initrd: true } : {}),
    containsOsRelease: view.has("usr/lib/os-release"),
    directory: info.format === "directory",
  });
  // Protection (DDI architecture, signature trust, image policy) as the host's systemd would judge it.
  const { checkProtection } = await import("../image/ddi/protection.js");
  const protection = await checkProtection({
    image: o.image,
    info,
    hostArch: o.host.arch,
    systemdVersion,
    ...(o.hostRoot ? { hostRoot: o.hostRoot } : {}),
    certificates: o.certificates ?? [],
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
  });
  const failed = protection.steps.find((s) => !s.ok);
  return {
    image: o.image,
    format: info.format,
    systemdVersion,
    host,
    ...verdict,
    merges: verdict.merges && protection.ok,
    reason: verdict.merges && failed ? `${failed.rule}: ${failed.detail}` : verdict.reason,
    steps: [...verdict.steps, ...protection.steps],
    ...(protection.verdict ? { usedAs: protection.verdict.usedAs } : {}),
    findings: imageFindings(view, o.host),
  };
}

const REBUILD = "rebuild the image without it";

/** Content rules over a finished image; what systemd only ignores is a warning, what it refuses an error. */
export function imageFindings(view: TreeView, host: BaseRelease): Finding[] {
  const out: Finding[] = [];
  out.push(
    ...checkOsRelease(view).map((f) => ({ ...f, hint: `${REBUILD} (remove ${f.path} from its sources)` })),
    ...checkOutsideUsrOpt(view).map((f) => ({ ...f, severity: "warning" as const, hint: REBUILD })),
    ...checkUsrSbin(view, { base: host }),
  );
  for (const path of sortedPaths(view)) {
    const e = view.get(path)!;
    const base = path.slice(path.lastIndexOf("/") + 1);
    const whiteout = base.startsWith(".wh.") || (e.type === "char" && e.devMajor === 0 && e.devMinor === 0);
    if (!whiteout) continue;
    out.push({
      code: base === ".wh..wh..opq" ? "overlay-opaque" : "overlay-whiteout",
      severity: "warning",
      path,
      message:
        base === ".wh..wh..opq"
          ? `${path} is an overlay opaque marker; merged, it hides the host's files in that directory`
          : `${path} is an overlayfs whiteout; merged, it hides the host's ${path.replace(/\.wh\.([^/]*)$/, "$1")}`,
      hint: REBUILD,
    });
  }
  const content = checkContent(view).map((f) =>
    f.code === "empty-extension" ? { ...f, severity: "warning" as const, hint: "the merge adds nothing" } : f,
  );
  // Whiteout character devices are reported above, not as device nodes.
  return [
    ...out,
    ...content.filter((f) => !(f.code === "device-node" && out.some((w) => w.path === f.path))),
  ];
}
