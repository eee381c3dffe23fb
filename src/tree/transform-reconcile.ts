// After the transforms: maintainer-script and conffile findings of deb sources say only what the spec left undone.
import { posix } from "node:path";
import type { Finding } from "../checks/finding.js";
import { matchGlob } from "./glob.js";
import { resolveLinkTarget } from "./paths.js";
import type { TreeBuilder } from "./tree.js";

const UNIT_DIR = "usr/lib/systemd/system";

const ENABLE = /^(\S+ of \S+) would enable (.+)$/;

/**
 * Maintainer-script "would enable" warnings (from deb sources, in `findings`) for units that
 * services.upholds starts (by their name or an alias symlink to them) are done declaratively: they
 * become info findings; a warning stays only for the units nothing starts.
 */
export function reconcileEnablement(
  findings: Finding[],
  builder: TreeBuilder,
  upholds: readonly string[],
): void {
  const started = new Set<string>();
  for (const u of upholds) {
    started.add(u);
    const e = builder.get(`${UNIT_DIR}/${u}`);
    const target = e?.type === "symlink" ? resolveLinkTarget(e.path, e.target) : undefined;
    if (target !== undefined) started.add(posix.basename(target));
  }
  findings.forEach((f, i) => {
    const m = f.code === "maintainer-script" && f.severity === "warning" ? ENABLE.exec(f.message) : null;
    if (!m) return;
    const units = m[2]!.split(", ");
    const open = units.filter((u) => !started.has(u));
    if (open.length === units.length) return;
    findings[i] =
      open.length === 0
        ? { ...f, severity: "info", message: `${f.message} (started through services.upholds)` }
        : { ...f, message: `${m[1]} would enable ${open.join(", ")} (the others are upheld)` };
  });
}

const CONFFILES = /^(\S+) has configuration files: (.+)$/;

/**
 * deb-conffiles findings (from deb sources, in `findings`) name only the conffiles still in place after
 * relocate and strip and not listed under drop; a package whose conffiles are all handled says so.
 */
export function reconcileConffiles(findings: Finding[], builder: TreeBuilder, drop: readonly string[]): void {
  findings.forEach((f, i) => {
    const m = f.code === "deb-conffiles" ? CONFFILES.exec(f.message) : null;
    if (!m) return;
    const files = m[2]!.split(", ");
    const open = files.filter((c) => {
      const p = c.replace(/^\/+/, "");
      return (
        builder.has(p) && !drop.some((g) => matchGlob(g, p) || p.startsWith(`${g.replace(/\/+$/, "")}/`))
      );
    });
    if (open.length === files.length) return;
    const handled = files.filter((c) => !open.includes(c));
    const { hint: _hint, ...rest } = f;
    findings[i] =
      open.length === 0
        ? {
            ...rest,
            message: `${m[1]}'s configuration files are moved or left out by the spec's rules: ${handled.join(", ")}`,
          }
        : {
            ...f,
            message: `${m[1]} has configuration files no relocate, strip or drop rule handles: ${open.join(", ")} (handled: ${handled.join(", ")})`,
          };
  });
}
