// What an RPM package would have done or needs that an extension cannot do: scriptlets, %config, %ghost, capabilities.
import { posix } from "node:path";
import type { Finding } from "../../checks/finding.js";
import { ldconfigFinding, scriptFindings } from "../scripts.js";
import { nevra, type RpmPackage } from "./package.js";
import type { ExtractReport } from "./payload.js";

const SHELLS = new Set(["sh", "bash", "dash"]);
const list = (items: readonly string[], max = 8) =>
  `${items.slice(0, max).join(", ")}${items.length > max ? `, ... (${items.length} in all)` : ""}`;

/** Findings for the scriptlets of a package (never run) and what its payload carried. */
export function packageFindings(p: RpmPackage, report: ExtractReport): Finding[] {
  const id = nevra(p);
  const out: Finding[] = [];
  const shell: Array<[string, string]> = [];
  for (const [label, { prog, body }] of p.scripts) {
    const interp = posix.basename(prog.split(/\s+/)[0] ?? "");
    if (SHELLS.has(interp)) shell.push([label, body]);
    else if (interp === "ldconfig") out.push(ldconfigFinding(id, label, "rpm-scriptlet"));
    else if (body.trim() !== "")
      out.push({
        code: "rpm-scriptlet",
        severity: "info",
        message: `${label} of ${id} is a ${prog} scriptlet, which is not run and not analysed`,
        hint: "read it (rpm -qp --scripts PACKAGE) and provide what it sets up declaratively (sysusers.d, tmpfiles.d, services.upholds)",
      });
  }
  out.push(...scriptFindings(id, shell, "rpm-scriptlet"));
  if (report.config.length > 0)
    out.push({
      code: "rpm-config",
      severity: "info",
      message: `${id} has %config files: ${list(report.config)}`,
      hint: "an extension carries only /usr and /opt: relocate them (relocate: from etc/..., to usr/share/..., link: setup-unit) or list them under drop",
    });
  if (report.ghosts.length > 0)
    out.push({
      code: "rpm-ghost",
      severity: "info",
      message: `${id} declares %ghost files, which are not in the image: ${list(report.ghosts)}`,
      hint: "they are created at run time by the program or a scriptlet; ship a tmpfiles.d entry (usr/lib/tmpfiles.d) if something must exist before the service starts",
    });
  for (const c of report.caps)
    out.push({
      code: "rpm-capabilities",
      severity: "info",
      path: c.path,
      message: `${c.path} of ${id} carries file capabilities ${c.caps} (security.capability xattr)`,
      hint: "the image keeps them; the base kernel must support file capabilities on the image's file system (squashfs and erofs do)",
    });
  for (const d of report.sharedDirs)
    out.push({
      code: "rpm-shared-directory",
      severity: "warning",
      path: d.path,
      message: `directory ${d.path} is owned by ${d.other} (mode ${d.modes[0].toString(8)}) and ${id} (mode ${d.modes[1].toString(8)}); the first package's mode is kept`,
      hint: "packages sharing a directory should agree on its mode; check which one the image needs",
    });
  return out;
}
