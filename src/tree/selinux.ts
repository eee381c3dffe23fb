// SELinux labels: one transform that gives every entry the security.selinux xattr the base's policy assigns.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BaseRelease } from "../base/base.js";
import { baseProfile } from "../base/profiles.js";
import type { Finding } from "../checks/finding.js";
import { SysextError } from "../errors.js";
import { parseEnvFile } from "../util/env-file.js";
import { loadFileContexts, type FileContexts } from "./selinux-contexts.js";
import type { TreeBuilder } from "./tree.js";

export const SELINUX_XATTR = "security.selinux";

/** The base's policy: its name (SELINUXTYPE), mode (SELINUX) and file contexts. */
export interface SelinuxPolicy {
  readonly type: string;
  readonly mode: string;
  readonly contexts: FileContexts;
}

/** Read etc/selinux/config and the policy's contexts/files/file_contexts from a base root; undefined when absent. */
export async function readSelinuxPolicy(root: string): Promise<SelinuxPolicy | undefined> {
  const config = join(root, "etc/selinux/config");
  const text = await readFile(config, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = Object.fromEntries(parseEnvFile(text, config));
  const type = fields.SELINUXTYPE;
  if (!type || !/^[A-Za-z0-9_.-]+$/.test(type)) {
    throw new SysextError("BASE_INVALID", `${config} names no valid SELINUXTYPE`, {
      location: { file: config, field: "SELINUXTYPE" },
      hint: "the base's SELinux configuration must say which policy it loads (e.g. SELINUXTYPE=targeted)",
    });
  }
  const file = join(root, "etc/selinux", type, "contexts/files/file_contexts");
  const present = await readFile(file).then(
    () => true,
    () => false,
  );
  if (!present) return undefined;
  return { type, mode: fields.SELINUX ?? "enforcing", contexts: await loadFileContexts(file) };
}

/**
 * Label every entry of the tree as the base's policy would (matchpathcon's rules), as the xattr
 * security.selinux = context + NUL (what setfiles writes). `mode` "off" does nothing; "require" fails
 * when the base has no policy; "auto" reports the missing policy as a finding.
 */
export async function applySelinuxLabels(
  builder: TreeBuilder,
  base: BaseRelease,
  mode: "auto" | "require" | "off",
): Promise<Finding[]> {
  if (mode === "off") return [];
  const policy = base.root === undefined ? undefined : await readSelinuxPolicy(base.root);
  if (!policy) {
    const where =
      base.root === undefined
        ? `${base.source} is an os-release file, not a root directory`
        : `${base.root} has no etc/selinux/config with a policy's contexts/files/file_contexts`;
    if (mode === "require") {
      throw new SysextError(
        "BASE_INVALID",
        `SELinux labels are required, but the base has no policy: ${where}`,
        {
          location: { field: "selinux" },
          hint: "pass the base root directory of an SELinux distribution (Fedora, CentOS, RHEL, SL Micro) as --base, or set 'selinux: auto'",
        },
      );
    }
    const expected = baseProfile(base).selinux;
    return [
      {
        code: "selinux-policy-missing",
        severity: expected ? "warning" : "info",
        message: `entries carry no SELinux labels: ${where}`,
        hint: expected
          ? `${base.id} labels its files for SELinux: pass the base root (with etc/selinux) as --base, or the merged files get the labels of their mount point`
          : "nothing to do unless the base enforces SELinux; then pass its root directory as --base",
      },
    ];
  }
  let labelled = 0;
  const unlabelled: string[] = [];
  for (const path of [...builder.paths()]) {
    const e = builder.get(path)!;
    const context = policy.contexts.lookup(`/${path}`, e.type);
    if (context === undefined) {
      unlabelled.push(path);
      continue;
    }
    builder.replace({ ...e, xattrs: { ...e.xattrs, [SELINUX_XATTR]: `${context}\0` } });
    labelled++;
  }
  const findings: Finding[] = [
    {
      code: "selinux-labels",
      severity: "info",
      message: `labelled ${labelled} entries with the base's SELinux policy '${policy.type}' (${policy.contexts.file}, SELINUX=${policy.mode})`,
    },
  ];
  if (unlabelled.length > 0)
    findings.push({
      code: "selinux-unlabelled",
      severity: "info",
      message: `${unlabelled.length} entries have no context in the policy (<<none>>): ${unlabelled.slice(0, 5).join(", ")}${unlabelled.length > 5 ? ", ..." : ""}`,
    });
  return findings;
}
