// Debian maintainer scripts and conffiles as findings (the scripts are never run; see ../scripts.ts).
import type { Finding } from "../../checks/finding.js";
import { ldconfigFinding, scriptFindings } from "../scripts.js";
import type { DebControl } from "./control.js";

export { simpleCommands } from "../scripts.js";

/** Findings (code "maintainer-script") for what the maintainer scripts and triggers of a package would do. */
export function analyzeMaintainerScripts(control: DebControl): Finding[] {
  const findings = scriptFindings(control.package, control.scripts);
  if (control.triggers && /^\s*activate(-noawait)?\s+ldconfig\b/m.test(control.triggers))
    findings.push(ldconfigFinding(control.package, "triggers"));
  return findings;
}

export const CONFFILES_HINT =
  "an extension carries only /usr and /opt: relocate them (relocate: from etc/..., to usr/share/..., link: setup-unit) or list them under drop";

/**
 * An info finding (code "deb-conffiles") listing a package's conffiles, which live in /etc. After the
 * transforms, reconcileConffiles (tree/transform.ts) names only those no relocate, strip or drop rule handled.
 */
export function conffilesFinding(control: DebControl): Finding | undefined {
  if (control.conffiles.length === 0) return undefined;
  return {
    code: "deb-conffiles",
    severity: "info",
    message: `${control.package} has configuration files: ${control.conffiles.join(", ")}`,
    hint: CONFFILES_HINT,
  };
}
