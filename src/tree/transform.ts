// Declarative tree transforms after all sources: relocation, stripping, sbin folding, service enablement, oem-release.
import { posix } from "node:path";
import type { Finding } from "../checks/finding.js";
import { SysextError } from "../errors.js";
import type { ExtensionSpec } from "../spec/schema.js";
import { renderIni } from "../util/kv-writer.js";
import { renderOemRelease, renderSetupUnit, unitNamePart, type RuntimeLink } from "./generated.js";
import { matchGlob } from "./glob.js";
import { comparePaths, normalizeEntryPath, parentOf } from "./paths.js";
import type { SourceContext } from "./sources/context.js";
import { foldLayout, stripTree } from "./transform-layout.js";
import { moveSubtrees, pruneEmptyDirs, type Move } from "./transform-move.js";
import { reconcileConffiles, reconcileEnablement } from "./transform-reconcile.js";
import type { TreeBuilder } from "./tree.js";

const UNIT_DIR = "usr/lib/systemd/system";
const UNIT_NAME = /\.(service|socket|timer|path|target|mount|automount|swap|slice|scope|device)$/;

export type { RuntimeLink } from "./generated.js";

/**
 * Apply the spec's transforms in order: relocate (plus units from etc/systemd/system), strip, /usr and
 * sbin folding, the Upholds= drop-in, oem-release. `version` is the SYSEXT version when known (used for
 * the oem-release VERSION_ID unless oem.versionId is set). Returns findings; it does not add them to ctx.
 */
export function applyTransforms(
  builder: TreeBuilder,
  spec: ExtensionSpec,
  ctx: SourceContext & { name: string },
  version?: string,
): Finding[] {
  const findings: Finding[] = [];
  const links = relocate(builder, spec, ctx.vars, findings);
  findings.push(...moveEtcUnits(builder));
  const setupUnit =
    links.length > 0 ? addSetupUnit(builder, ctx.name, links, spec.services.upholds) : undefined;
  findings.push(...stripTree(builder, spec.strip));
  findings.push(...foldLayout(builder, spec, ctx));
  findings.push(...addUpholds(builder, spec, ctx.name, setupUnit));
  reconcileEnablement(ctx.findings, builder, spec.services.upholds);
  reconcileConffiles(ctx.findings, builder, spec.drop);
  if (spec.oem) addOemRelease(builder, spec, version);
  return findings;
}

/** Whether a rule's `when` conditions hold for `vars` (same semantics as a source's `when`). */
export function ruleApplies(
  when: Readonly<Record<string, string | readonly string[]>> | undefined,
  vars: Readonly<Record<string, string>>,
): boolean {
  if (!when) return true;
  return Object.entries(when).every(([k, want]) =>
    typeof want === "string" ? vars[k] === want : want.includes(vars[k] ?? ""),
  );
}

function relocate(
  builder: TreeBuilder,
  spec: ExtensionSpec,
  vars: Readonly<Record<string, string>>,
  findings: Finding[],
): RuntimeLink[] {
  const links: RuntimeLink[] = [];
  spec.relocate.forEach((rule, i) => {
    if (!ruleApplies(rule.when, vars)) return;
    const field = `relocate[${i}]`;
    const from = normalizeEntryPath(rule.from.replace(/^\/+/, ""), { field: `${field}.from` });
    const to = normalizeEntryPath(rule.to.replace(/^\/+/, ""), { field: `${field}.to` });
    if (!to.startsWith("usr/") && !to.startsWith("opt/")) {
      throw new SysextError(
        "SPEC_INVALID",
        `${field}.to ${JSON.stringify(rule.to)} is not under usr/ or opt/`,
        {
          location: { field: `${field}.to` },
          hint: "an extension only carries /usr and /opt; relocate to e.g. usr/share/<name>/... and recreate the old path with link: setup-unit",
        },
      );
    }
    const isGlob = /[*?[]/.test(from);
    const matches = isGlob
      ? topmost([...builder.paths()].filter((p) => matchGlob(from, p)))
      : builder.has(from)
        ? [from]
        : [];
    if (matches.length === 0) {
      findings.push({
        code: "relocate-unmatched",
        severity: "warning",
        message: `${field}: nothing in the tree matches ${JSON.stringify(rule.from)}`,
        hint: "check the path (relative to the image root, e.g. etc/vmware-tools) or remove the rule",
      });
      return;
    }
    // A glob moves every match into `to` (keeping its name); a plain path is renamed to `to`.
    const moves: Move[] = matches.map((m) => ({ from: m, to: isGlob ? `${to}/${posix.basename(m)}` : to }));
    moveSubtrees(
      builder,
      moves,
      `${field} (${rule.from} -> ${rule.to})`,
      `remove ${to} from its source or relocate to another path`,
    );
    pruneEmptyDirs(builder, matches.map(parentOf));
    for (const m of moves)
      if (rule.link === "setup-unit") links.push({ runtimePath: `/${m.from}`, imagePath: `/${m.to}` });
    findings.push({
      code: "relocate",
      severity: "info",
      message: `relocated ${moves.map((m) => `${m.from} -> ${m.to}`).join(", ")}${rule.link === "setup-unit" ? " (linked back at runtime by the setup unit)" : ""}`,
    });
  });
  return links;
}

function topmost(paths: string[]): string[] {
  const set = new Set(paths);
  return paths.filter((p) => ![...ancestors(p)].some((a) => set.has(a))).sort(comparePaths);
}

function* ancestors(p: string): Generator<string> {
  for (let q = parentOf(p); q !== ""; q = parentOf(q)) yield q;
}

/** Units (and their drop-in and .wants directories) in etc/systemd/system move to usr/lib/systemd/system. */
function moveEtcUnits(builder: TreeBuilder): Finding[] {
  const dir = "etc/systemd/system";
  if (builder.get(dir)?.type !== "dir") return [];
  const children = [...builder.paths()].filter((p) => parentOf(p) === dir).sort(comparePaths);
  if (!children.some((c) => UNIT_NAME.test(c) && builder.get(c)?.type !== "dir")) return [];
  const moves = children.map((c) => ({ from: c, to: `${UNIT_DIR}/${posix.basename(c)}` }));
  moveSubtrees(
    builder,
    moves,
    "moving units from etc/systemd/system",
    "remove one of the two unit files from its source",
  );
  pruneEmptyDirs(builder, [dir]);
  return [
    {
      code: "relocate",
      severity: "info",
      message: `moved ${moves.map((m) => posix.basename(m.from)).join(", ")} from etc/systemd/system to ${UNIT_DIR}`,
    },
  ];
}

export { renderOemRelease, renderSetupUnit, unitNamePart } from "./generated.js";

function addSetupUnit(
  builder: TreeBuilder,
  name: string,
  links: readonly RuntimeLink[],
  before: readonly string[],
): string {
  const unit = `setup-${unitNamePart(name)}.service`;
  builder.add({
    type: "file",
    path: `${UNIT_DIR}/${unit}`,
    mode: 0o644,
    origin: "generated: setup unit for relocated paths",
    ...bytes(renderSetupUnit(name, links, before)),
  });
  return unit;
}

function addUpholds(
  builder: TreeBuilder,
  spec: ExtensionSpec,
  name: string,
  setupUnit: string | undefined,
): Finding[] {
  const units = [...spec.services.upholds];
  if (setupUnit !== undefined && !units.includes(setupUnit)) units.push(setupUnit);
  if (units.length === 0) return [];
  const target = spec.services.target;
  builder.add({
    type: "file",
    path: `${UNIT_DIR}/${target}.d/10-${name}.conf`,
    mode: 0o644,
    origin: `generated: ${target} drop-in (services.upholds)`,
    ...bytes(
      renderIni(`${target} drop-in`, [
        { name: "Unit", entries: [["Upholds", units.join(" "), "services.upholds"]] },
      ]),
    ),
  });
  const findings: Finding[] = [];
  for (const u of units) {
    const template = u.replace(/@[^.]*\./, "@.");
    if (builder.has(`${UNIT_DIR}/${u}`) || builder.has(`${UNIT_DIR}/${template}`)) continue;
    findings.push({
      code: "upholds-unit-missing",
      severity: "warning",
      path: `${UNIT_DIR}/${u}`,
      message: `services.upholds lists ${u}, but the image has no ${UNIT_DIR}/${u}`,
      hint: "add the unit to the image (or relocate it from lib/systemd/system or etc/systemd/system); ignore this if the base ships it",
    });
  }
  return findings;
}

function addOemRelease(builder: TreeBuilder, spec: ExtensionSpec, version: string | undefined): void {
  const path = normalizeEntryPath(spec.oem!.path.replace(/^\/+/, ""), { field: "oem.path" });
  builder.add({
    type: "file",
    path,
    mode: 0o644,
    origin: "generated: oem-release",
    ...bytes(renderOemRelease(spec, version)),
  });
}

function bytes(text: string): { size: number; content: { kind: "bytes"; data: Uint8Array } } {
  const data = new TextEncoder().encode(text);
  return { size: data.length, content: { kind: "bytes", data } };
}
