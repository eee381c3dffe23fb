// The boot report as text for people: verdict, boot facts, extensions with their units, expectations, problems.
import { describeUnit } from "./evaluate.js";
import type { BootReport, UnitReport } from "./report-schema.js";

function unitLine(u: UnitReport): string {
  const mark =
    u.verdict === "active" || u.verdict === "exited"
      ? "ok  "
      : u.platformLimit
        ? "n/v "
        : u.verdict === "condition"
          ? "skip"
          : "FAIL";
  const alias = u.id !== u.name ? ` (${u.id})` : "";
  const limit = u.platformLimit ? ` -- not verifiable here: ${u.platformLimit}` : "";
  return `    ${mark} ${u.name}${alias}: ${describeUnit(u)}${limit}`;
}

export function renderBootReport(r: BootReport): string {
  const out: string[] = [];
  const secs = (ms: number | undefined) => (ms === undefined ? "?" : `${(ms / 1000).toFixed(1)} s`);
  out.push(
    `${r.ok ? "PASS" : "FAIL"}: ${r.os.prettyName ?? r.base.path} on ${r.guest.arch} QEMU (${r.guest.accel}), dressed as ${r.guest.platform}`,
  );
  out.push(
    `  boot: ${r.outcome}, finished booting after ${secs(r.timing.bootMs)} (guest uptime), whole run ${secs(r.timing.wallMs)}; state ${r.os.state ?? "?"}`,
  );
  if (r.timing.analyze) out.push(`  ${r.timing.analyze.split("\n")[0]}`);
  if (r.timing.stalledJobs)
    out.push(`  the boot stalled (jobs unchanged, looked anyway): ${r.timing.stalledJobs.join("; ")}`);
  out.push(
    `  platform: systemd-detect-virt says ${r.platform.detectVirt ?? "?"} (on the real platform: ${r.platform.realVirt}); ${r.os.systemd ?? ""}`,
  );
  out.push(
    `  systemd-sysext.service: ${r.sysext.enabled ?? "?"}, ${r.sysext.active ?? "?"}; merged into /usr: ${r.sysext.merged.join(" ") || "nothing"}`,
  );
  for (const e of r.extensions) {
    out.push(`  extension ${e.name}: ${e.merged ? "merged" : "NOT MERGED"}`);
    for (const l of e.reason ?? []) out.push(`    systemd-sysext: ${l.replace(/^\[[^\]]*\] \S+ /, "")}`);
    if (e.unitsNote) out.push(`    ${e.unitsNote}`);
    for (const u of e.units) out.push(unitLine(u));
  }
  for (const u of r.units) out.push(`  expect active:`, unitLine(u));
  for (const f of r.files)
    out.push(`  expect file ${f.path}: ${f.exists ? `${f.type} ${f.mode} ${f.owner}` : "MISSING"}`);
  for (const run of r.runs) {
    out.push(
      `  run ${JSON.stringify(run.command)}: ${run.timedOut ? "timed out" : `exit ${run.exitCode ?? "?"}`}`,
    );
    for (const l of run.output.trimEnd().split("\n").slice(-20)) if (l) out.push(`    | ${l}`);
  }
  if (r.failedUnits.length) out.push(`  failed units: ${r.failedUnits.map((f) => f.unit).join(" ")}`);
  if (r.journalErrors.length) {
    out.push(`  journal errors (${r.journalErrors.length}, last 10):`);
    for (const l of r.journalErrors.slice(-10)) out.push(`    ${l}`);
  }
  const problems = r.checks.filter((c) => !c.ok);
  if (problems.length) {
    out.push("  problems:");
    for (const c of problems) {
      out.push(`    ${c.severity === "error" ? "error  " : "warning"} ${c.id}: ${c.message}`);
      if (c.hint) out.push(`      hint: ${c.hint}`);
    }
  }
  if (r.outcome !== "completed") {
    out.push("  console (last lines):");
    for (const l of r.console.tail.slice(-15)) out.push(`    ${l}`);
  }
  if (r.console.log) out.push(`  console log: ${r.console.log}`);
  return `${out.join("\n")}\n`;
}
