// Package scripts (deb maintainer scripts, rpm scriptlets) are never run: what they would have done, as findings.
import { posix } from "node:path";
import type { Finding } from "../checks/finding.js";

type Kind =
  "enable" | "start" | "alternatives" | "users" | "divert" | "ldconfig" | "sysv" | "tmpfiles" | "selinux";

const KEYWORDS = new Set([
  "if",
  "then",
  "else",
  "elif",
  "do",
  "while",
  "until",
  "!",
  "{",
  "(",
  "exec",
  "command",
]);

/** Split a script into simple commands (token lists), ignoring comments, quotes and redirections. */
export function simpleCommands(script: string): string[][] {
  const out: string[][] = [];
  const joined = script.replace(/\\\r?\n/g, " ");
  for (const rawLine of joined.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    for (const seg of line.split(/;|&&|\|\||\||`|\$\(|\)/)) {
      const tokens: string[] = [];
      const words = seg.trim().split(/\s+/).filter(Boolean);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (/^\d*[<>]&?\d*$/.test(w)) {
          i++; // a bare redirection operator: skip its target too
          continue;
        }
        if (/^\d*[<>]/.test(w)) continue; // ">/dev/null", "2>&1"
        tokens.push(w.replace(/^['"]|['"]$/g, ""));
      }
      while (tokens.length > 0 && (KEYWORDS.has(tokens[0]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(tokens[0]!)))
        tokens.shift();
      if (tokens.length > 0) out.push(tokens);
    }
  }
  return out;
}

const args = (t: readonly string[]) => t.slice(1).filter((a) => !a.startsWith("-") && !a.startsWith("$"));

function classify(tokens: readonly string[]): Array<{ kind: Kind; item: string }> {
  const cmd = posix.basename(tokens[0]!);
  const text = tokens.join(" ");
  switch (cmd) {
    case "deb-systemd-helper":
    case "systemctl": {
      const [action, ...units] = args(tokens);
      return action === "enable" || action === "preset"
        ? units.map((u) => ({ kind: "enable" as const, item: u }))
        : [];
    }
    case "systemd-update-helper": {
      // Fedora's %systemd_post: "systemd-update-helper install-system-units UNIT..." presets the units.
      const [action, ...units] = args(tokens);
      return action === "install-system-units"
        ? units.map((u) => ({ kind: "enable" as const, item: u }))
        : [];
    }
    case "semodule":
      return tokens.some((t) => /^-[a-zA-Z]*[iX]/.test(t) || t === "--install")
        ? [{ kind: "selinux" as const, item: text }]
        : [];
    case "deb-systemd-invoke": {
      const [action, ...units] = args(tokens);
      return action === "start" || action === "restart"
        ? units.map((u) => ({ kind: "start" as const, item: u }))
        : [];
    }
    case "update-alternatives": {
      const i = tokens.indexOf("--install");
      if (i < 0 || tokens.length < i + 4) return [];
      return [
        { kind: "alternatives", item: `${tokens[i + 1]} -> ${tokens[i + 3]} (alternative ${tokens[i + 2]})` },
      ];
    }
    case "adduser":
    case "useradd":
    case "addgroup":
    case "groupadd":
      return [{ kind: "users", item: text }];
    case "dpkg-divert":
      // Removing an old diversion (cleanup after an upgrade) changes nothing a sysext has to provide.
      return !tokens.includes("--remove") && (tokens.includes("--add") || tokens.includes("--rename"))
        ? [{ kind: "divert", item: text }]
        : [];
    case "ldconfig":
      return [{ kind: "ldconfig", item: "ldconfig" }];
    case "update-rc.d": {
      const [name, action] = args(tokens);
      return name && (action === "defaults" || action === "enable") ? [{ kind: "sysv", item: name }] : [];
    }
    case "systemd-tmpfiles":
    case "systemd-sysusers":
      return [{ kind: "tmpfiles", item: text }];
    default:
      return [];
  }
}

const SEVERITY: Record<Kind, Finding["severity"]> = {
  enable: "warning",
  start: "info",
  alternatives: "warning",
  users: "warning",
  divert: "warning",
  ldconfig: "info",
  sysv: "info",
  tmpfiles: "info",
  selinux: "warning",
};

function describe(
  kind: Kind,
  pkg: string,
  script: string,
  items: string[],
): { message: string; hint: string } {
  const list = items.join(", ");
  switch (kind) {
    case "enable":
      return {
        message: `${script} of ${pkg} would enable ${list}`,
        hint: `enablement symlinks are not honoured in a sysext; list the units under services.upholds: [${items.join(", ")}]`,
      };
    case "start":
      return {
        message: `${script} of ${pkg} would start ${list}`,
        hint: "units start only through services.upholds in an extension",
      };
    case "alternatives":
      return {
        message: `${script} of ${pkg} would register alternatives: ${list}`,
        hint: "add a symlink source for each command (under usr/) pointing at the chosen alternative",
      };
    case "users":
      return {
        message: `${script} of ${pkg} would create users or groups: ${items.map((i) => `'${i}'`).join(", ")}`,
        hint: "ship a sysusers.d file (usr/lib/sysusers.d/<name>.conf) so systemd-sysusers creates them at boot",
      };
    case "divert":
      return {
        message: `${script} of ${pkg} would divert files: ${items.map((i) => `'${i}'`).join(", ")}`,
        hint: "diversions cannot happen in a sysext; make sure the extension does not need to replace base files",
      };
    case "ldconfig":
      return {
        message: `${pkg} would run ldconfig (${script})`,
        hint: "libraries outside the default search path need an ld.so.conf.d entry on the base; libraries in usr/lib/<triplet> are found without it",
      };
    case "sysv":
      return {
        message: `${script} of ${pkg} would enable SysV init scripts: ${list}`,
        hint: "use the package's systemd unit and services.upholds instead",
      };
    case "tmpfiles":
      return {
        message: `${script} of ${pkg} would run ${items.map((i) => `'${i}'`).join(", ")}`,
        hint: "tmpfiles.d/sysusers.d files in usr/lib are applied at boot; after a runtime merge run systemd-tmpfiles --create / systemd-sysusers",
      };
    case "selinux":
      return {
        message: `${script} of ${pkg} would install SELinux policy modules: ${items.map((i) => `'${i}'`).join(", ")}`,
        hint: "an extension cannot change the base's loaded policy; the base image must ship the module",
      };
  }
}

/**
 * Findings (code `code`) for what the scripts of package `pkg` would do: `scripts` maps a script's name
 * (postinst, %post, ...) to its shell text.
 */
export function scriptFindings(
  pkg: string,
  scripts: Iterable<readonly [string, string]>,
  code = "maintainer-script",
): Finding[] {
  const findings: Finding[] = [];
  for (const [script, body] of scripts) {
    const byKind = new Map<Kind, string[]>();
    for (const tokens of simpleCommands(body)) {
      for (const { kind, item } of classify(tokens)) {
        const list = byKind.get(kind) ?? [];
        if (!list.includes(item)) list.push(item);
        byKind.set(kind, list);
      }
    }
    for (const [kind, items] of byKind) {
      findings.push({ code, severity: SEVERITY[kind], ...describe(kind, pkg, script, items) });
    }
  }
  return findings;
}

/** The finding for a package whose trigger or scriptlet program runs ldconfig. */
export function ldconfigFinding(pkg: string, script: string, code = "maintainer-script"): Finding {
  return { code, severity: "info", ...describe("ldconfig", pkg, script, ["ldconfig"]) };
}
