// Turns the guest's sections into the boot report: units, extensions, expectations and the checks that decide it.
import {
  conditionText,
  lines,
  parseConditions,
  parseMerged,
  parseOsRelease,
  parseProperties,
  uptimeMs,
  type Section,
} from "./guest-report.js";
import {
  failureLimitFor,
  limitFor,
  PLATFORM_CONDITIONS,
  PLATFORM_DRESS,
  type Accel,
  type PlatformName,
} from "./platforms.js";
import { BOOT_REPORT_VERSION, type BootCheck, type BootReport, type UnitReport } from "./report-schema.js";

export interface EvaluateInput {
  readonly sections: ReadonlyMap<string, Section>;
  readonly base: BootReport["base"];
  readonly guest: BootReport["guest"];
  readonly outcome: BootReport["outcome"];
  readonly wallMs: number;
  readonly timeoutMs: number;
  readonly extensions: ReadonlyArray<{ name: string; image: string; unitsNote?: string | undefined }>;
  readonly expectActive: readonly string[];
  readonly expectFiles: readonly string[];
  readonly runs: readonly string[];
  /** Units whose failure is reported as a warning instead of failing the test. */
  readonly allowFailed: readonly string[];
  readonly console: BootReport["console"];
}

/** The job queued for a unit when the probe looked ("start waiting"), from `systemctl list-jobs`. */
function queuedJob(sections: ReadonlyMap<string, Section>, id: string): string | undefined {
  for (const l of lines(sections.get("settle")?.text)) {
    const f = l.trim().split(/\s+/);
    if (f.length === 4 && /^\d+$/.test(f[0]!) && f[1] === id) return `${f[2]} ${f[3]}`;
  }
  return undefined;
}

function unitReport(
  sections: ReadonlyMap<string, Section>,
  key: string,
  name: string,
  extension: string | undefined,
  platform: PlatformName,
  accel: Accel,
  systemd: number | undefined,
): UnitReport {
  const p = parseProperties(sections.get(key)?.text ?? "");
  const id = p.Id || name;
  const conds = parseConditions(sections.get(`conditions:${name}`)?.text ?? "");
  const failed = conds.find((c) => c.state < 0 && !c.trigger) ?? conds.find((c) => c.state < 0);
  const failedCondition = failed ? conditionText(failed) : undefined;
  const restarts = Number(p.NRestarts ?? 0) || 0;
  const job = queuedJob(sections, id);
  const ran = (k: string) => Number(p[k] ?? 0) > 0;
  let verdict: UnitReport["verdict"];
  if (p.LoadState === "not-found" || p.LoadState === undefined) verdict = "not-found";
  else if (p.ActiveState === "active") verdict = "active";
  else if (p.ActiveState === "failed" || p.SubState === "auto-restart") verdict = "failed";
  else if (p.Result !== undefined && p.Result !== "success") verdict = "failed";
  else if (p.ActiveState === "activating" || p.ActiveState === "reloading") verdict = "starting";
  else if (job?.startsWith("start ")) verdict = "starting";
  else if (ran("AssertTimestampMonotonic") && p.AssertResult === "no") verdict = "failed";
  else if (ran("ConditionTimestampMonotonic") && p.ConditionResult === "no") verdict = "condition";
  else if (ran("InactiveExitTimestampMonotonic")) verdict = "exited";
  else verdict = "inactive";
  const journal = lines(sections.get(`unit-journal:${name}`)?.text).filter(
    (l) => !/^-- (No entries|Journal begins)/.test(l),
  );
  // Caught between two restarts, a unit that keeps failing looks active: its journal tells.
  const failures = journal.filter((l) => /: Failed with result '/.test(l)).length;
  if (verdict === "active" && failures >= 2) verdict = "failed";
  const limit =
    verdict === "condition" && failedCondition
      ? limitFor(platform, accel, failedCondition, systemd)
      : verdict === "failed" || verdict === "starting"
        ? failureLimitFor(platform, accel, id, journal, systemd)
        : undefined;
  const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
  const execMainCode = num(p.ExecMainCode);
  const execMainStatus = num(p.ExecMainStatus);
  return {
    name,
    id,
    ...(extension === undefined ? {} : { extension }),
    load: p.LoadState ?? "unknown",
    active: p.ActiveState ?? "unknown",
    sub: p.SubState ?? "unknown",
    result: p.Result ?? "unknown",
    ...(execMainCode === undefined ? {} : { execMainCode }),
    ...(execMainStatus === undefined ? {} : { execMainStatus }),
    restarts,
    ...(job === undefined ? {} : { job }),
    ...(failures > 0 ? { failures } : {}),
    ...(failedCondition === undefined ? {} : { failedCondition }),
    ...(limit === undefined ? {} : { platformLimit: `${limit.condition}: ${limit.why}` }),
    verdict,
    journal,
  };
}

/** "failed (exit-code, status 203)": how a unit ended, in a few words. */
export function describeUnit(u: UnitReport): string {
  switch (u.verdict) {
    case "active":
      return `${u.active} (${u.sub})`;
    case "exited":
      return "ran and finished successfully";
    case "not-found":
      return "not found";
    case "condition":
      return `skipped: ${u.failedCondition ?? "a condition"} not met`;
    case "inactive":
      return `never started (${u.active}/${u.sub})`;
    case "starting":
      if (u.job && u.active === "inactive")
        return `waiting to start (job ${u.job}, ordered after a unit still starting)`;
      return `still starting (${u.active}/${u.sub}${u.restarts ? `, ${u.restarts} restarts` : ""})`;
    case "failed": {
      const status = u.execMainStatus ? `, status ${u.execMainStatus}` : "";
      const restarts = u.restarts ? `, ${u.restarts} restarts` : "";
      const flapping =
        u.active === "active" ? `, failed ${u.failures} times, ${u.active} between restarts` : "";
      return `failed (${u.result}${status}${restarts}${flapping})`;
    }
  }
}

function unitCheck(
  u: UnitReport,
  id: string,
  platform: PlatformName,
  allowFailed: readonly string[],
): BootCheck {
  const subject = u.name;
  if (u.verdict === "active" || u.verdict === "exited")
    return { id, subject, severity: "error", ok: true, message: `${u.name}: ${describeUnit(u)}` };
  if (u.platformLimit) {
    return {
      id: "unit.platform-unverified",
      subject,
      severity: "warning",
      ok: false,
      message: `${u.name} NOT VERIFIED (${describeUnit(u)}): QEMU cannot present ${platform}'s ${u.platformLimit}`,
    };
  }
  if (u.verdict === "condition") {
    const type = u.failedCondition?.split("=")[0] ?? "";
    if (PLATFORM_CONDITIONS.has(type)) {
      return {
        id,
        subject,
        severity: "error",
        ok: false,
        message: `${u.name} did not start: ${u.failedCondition} is not met although the guest is dressed as ${platform}`,
        hint: `check the condition against what the platform presents (systemd-detect-virt, /sys/class/dmi/id)`,
      };
    }
    return { id, subject, severity: "warning", ok: false, message: `${u.name} ${describeUnit(u)}` };
  }
  const allowed = allowFailed.includes(u.name) || allowFailed.includes(u.id);
  const last = u.journal
    .filter((l) => !/systemd\[1\]: .*(Scheduled restart|Stopped|Started)/.test(l))
    .slice(-3);
  return {
    id,
    subject,
    severity: allowed ? "warning" : "error",
    ok: false,
    message: `${u.name}: ${describeUnit(u)}${allowed ? " (allowed to fail)" : ""}${last.length ? ` -- ${last.join(" | ")}` : ""}`,
    ...(u.verdict === "not-found"
      ? { hint: "the unit named by the extension's drop-in does not exist after the merge" }
      : u.verdict === "inactive"
        ? { hint: "nothing started it: check the extension's Upholds=/Wants= drop-in" }
        : { hint: `see its journal: journalctl -b -u ${u.id}` }),
  };
}

export function evaluate(input: EvaluateInput): BootReport {
  const s = input.sections;
  const { platform, accel } = input.guest as { platform: PlatformName; accel: Accel };
  const checks: BootCheck[] = [];
  // "systemd 252 (252.39-1~deb12u1)": the guest's systemd, for limits that depend on its version.
  const systemdMatch = /^systemd (\d+)/m.exec(s.get("systemd-version")?.text ?? "");
  const systemd = systemdMatch ? Number(systemdMatch[1]) : undefined;
  const osr = parseOsRelease(s.get("os-release")?.text ?? "");
  const sysextUnit = parseProperties(s.get("sysext-unit")?.text ?? "");
  const merged = parseMerged(s.get("sysext-status-json"), s.get("sysext-status"));
  const sysextJournal = lines(s.get("sysext-journal")?.text).filter(
    (l) => !/^-- (No entries|Journal begins)/.test(l),
  );

  const timeoutS = Math.round(input.timeoutMs / 1000);
  checks.push(
    input.outcome === "completed"
      ? {
          id: "boot.completed",
          severity: "error",
          ok: true,
          message: "the guest booted, reported and powered off by itself",
        }
      : input.outcome === "timeout"
        ? {
            id: "boot.completed",
            severity: "error",
            ok: false,
            message: `the guest did not finish within ${timeoutS} s and was killed${s.has("probe-start") ? " (it had booted; the probe did not finish)" : " (it never finished booting)"}`,
            hint: "see the console tail; a slower machine may need a longer --timeout",
          }
        : {
            id: "boot.completed",
            severity: "error",
            ok: false,
            message: "the guest stopped before the probe finished (panic, reboot or power-off)",
            hint: "see the console tail for the kernel's or systemd's last words",
          },
  );

  if (s.has("sysext-unit")) {
    const on = ["enabled", "enabled-runtime", "static", "alias", "indirect", "generated"].includes(
      sysextUnit.UnitFileState ?? "",
    );
    checks.push(
      on || sysextUnit.ActiveState === "active"
        ? {
            id: "sysext.enabled",
            severity: "error",
            ok: true,
            message: `systemd-sysext.service is ${sysextUnit.UnitFileState} (${sysextUnit.ActiveState})`,
          }
        : {
            id: "sysext.enabled",
            severity: "error",
            ok: false,
            message: `systemd-sysext.service is ${sysextUnit.UnitFileState ?? "missing"} in the base and did not run: nothing is merged at boot`,
            hint: "enable it in the base image (systemctl enable systemd-sysext.service); Debian ships it disabled",
          },
    );
  }

  const extensions: BootReport["extensions"] = input.extensions.map((e) => {
    const units: UnitReport[] = [];
    for (const key of s.keys()) {
      const m = /^unit:([^:]+):(.+)$/.exec(key);
      if (m && m[1] === e.name) units.push(unitReport(s, key, m[2]!, e.name, platform, accel, systemd));
    }
    const isMerged = merged.includes(e.name);
    // systemd's verdict on the image ("Extension 'x' is for OS '13', but deployed on top of '12'."),
    // else every line about it.
    const about = sysextJournal.filter((l) => l.includes(e.name));
    const verdicts = about.filter((l) =>
      /is for |match|ignor|not suitable|refus|fail|invalid|unsupport|no medium/i.test(l),
    );
    const reason = isMerged ? undefined : verdicts.length ? verdicts : about;
    return {
      name: e.name,
      image: e.image,
      merged: isMerged,
      ...(reason === undefined ? {} : { reason }),
      units,
      ...(e.unitsNote ? { unitsNote: e.unitsNote } : {}),
    };
  });
  for (const e of extensions) {
    if (!s.has("sysext-status") && input.outcome !== "completed") continue;
    checks.push(
      e.merged
        ? {
            id: "extension.merged",
            subject: e.name,
            severity: "error",
            ok: true,
            message: `${e.name} merged at boot`,
          }
        : {
            id: "extension.merged",
            subject: e.name,
            severity: "error",
            ok: false,
            message: `${e.name} was not merged at boot${e.reason?.length ? `: ${e.reason.map((l) => l.replace(/^\[[^\]]*\] \S+ /, "")).join(" | ")}` : ""}`,
            hint: "sysextkit check IMAGE --host BASE explains the release binding; the guest's own words are in the report's sysext journal",
          },
    );
    for (const [key, sec] of s) {
      const m = /^target:([^:]+):(.+)$/.exec(key);
      if (!m || m[1] !== e.name) continue;
      const t = parseProperties(sec.text);
      const dropins = [...s.keys()]
        .filter((k) => k.startsWith(`dropin:${e.name}:`) && k.includes(`/${m[2]}.d/`))
        .map((k) => k.slice(`dropin:${e.name}:`.length));
      const missing = dropins.filter((d) => !(t.DropInPaths ?? "").split(" ").includes(d));
      if (t.NeedDaemonReload === "yes" || missing.length > 0) {
        checks.push({
          id: "extension.units-loaded",
          subject: e.name,
          severity: "error",
          ok: false,
          message: `${m[2]} has not loaded ${e.name}'s drop-in ${missing.join(" ") || dropins.join(" ")} (NeedDaemonReload=${t.NeedDaemonReload}): systemd did not reload its units after the merge, so the units it names never start`,
          hint: "systemd < 255 never reloads after merging: the base must (a unit bound to systemd-sysext.service running systemctl daemon-reload, like Flatcar's ensure-sysext.service); systemd 255+ does it for images with EXTENSION_RELOAD_MANAGER=1",
        });
      }
    }
    for (const u of e.units) checks.push(unitCheck(u, "unit.started", platform, input.allowFailed));
  }

  const units = input.expectActive.map((name) =>
    unitReport(s, `unit:-:${name}`, name, undefined, platform, accel, systemd),
  );
  for (const u of units) {
    const c = unitCheck(u, "expect.active", platform, []);
    checks.push({ ...c, severity: "error", ok: u.verdict === "active" });
  }

  const files = input.expectFiles.map((path, i) => {
    const sec = s.get(`file:${i + 1}`);
    const [type, mode, user, group, size] = (sec?.text.trim() ?? "").split("|");
    const exists = sec !== undefined && sec.rc === 0;
    checks.push({
      id: "expect.file",
      subject: path,
      severity: "error",
      ok: exists,
      message: exists ? `${path} exists (${type}, ${mode})` : `${path} does not exist in the guest`,
    });
    return exists
      ? { path, exists, type: type ?? "", mode: mode ?? "", owner: `${user}:${group}`, size: Number(size) }
      : { path, exists };
  });

  const runs = input.runs.map((command, i) => {
    const sec = s.get(`run:${i + 1}`);
    const timedOut = sec !== undefined && (sec.rc === 124 || sec.rc === 137);
    checks.push({
      id: "run.exit",
      subject: command,
      severity: "error",
      ok: sec?.rc === 0,
      message:
        sec === undefined
          ? `${command}: did not run`
          : timedOut
            ? `${command}: timed out`
            : `${command}: exit ${sec.rc}`,
    });
    return { command, ...(sec ? { exitCode: sec.rc } : {}), timedOut, output: sec?.text ?? "" };
  });

  const covered = new Set(extensions.flatMap((e) => e.units.flatMap((u) => [u.name, u.id])));
  const failedUnits = lines(s.get("failed-units")?.text).map((l) => {
    const [unit = "", , , , ...desc] = l.trim().split(/\s+/);
    return { unit, description: desc.join(" ") };
  });
  for (const f of failedUnits) {
    if (covered.has(f.unit)) continue;
    const allowed = input.allowFailed.includes(f.unit);
    checks.push({
      id: "boot.failed-unit",
      subject: f.unit,
      severity: allowed ? "warning" : "error",
      ok: false,
      message: `${f.unit} failed during the boot${allowed ? " (allowed to fail)" : ""}`,
      hint: `see journalctl -b -u ${f.unit} in the report's journal errors`,
    });
  }

  const virt = s.get("detect-virt")?.text.trim();
  const dmi = parseOsRelease(s.get("dmi")?.text ?? "");
  const bootMs = uptimeMs(s.get("boot-wait")?.text);
  const analyze = s.get("analyze")?.text.trim();
  const stalledJobs = lines(s.get("boot-stall")?.text);
  return {
    kind: "sysextkit-boot-report",
    version: BOOT_REPORT_VERSION,
    ok: checks.every((c) => c.ok || c.severity !== "error"),
    base: input.base,
    guest: input.guest,
    outcome: input.outcome,
    timing: {
      wallMs: input.wallMs,
      ...(bootMs === undefined ? {} : { bootMs }),
      ...(analyze ? { analyze } : {}),
      ...(stalledJobs.length > 0 ? { stalledJobs } : {}),
    },
    os: {
      ...(osr.ID ? { id: osr.ID } : {}),
      ...(osr.VERSION_ID ? { versionId: osr.VERSION_ID } : {}),
      ...(osr.PRETTY_NAME ? { prettyName: osr.PRETTY_NAME } : {}),
      ...(s.get("systemd-version") ? { systemd: lines(s.get("systemd-version")!.text)[0] ?? "" } : {}),
      ...(s.get("boot-wait") ? { state: lines(s.get("boot-wait")!.text)[0] ?? "" } : {}),
    },
    platform: {
      ...(virt ? { detectVirt: virt } : {}),
      realVirt: PLATFORM_DRESS[platform].realVirt,
      dmi,
    },
    sysext: {
      ...(sysextUnit.UnitFileState ? { enabled: sysextUnit.UnitFileState } : {}),
      ...(sysextUnit.ActiveState ? { active: sysextUnit.ActiveState } : {}),
      ...(sysextUnit.Result ? { result: sysextUnit.Result } : {}),
      merged,
      ...(s.get("sysext-status") ? { status: s.get("sysext-status")!.text } : {}),
      journal: sysextJournal,
    },
    extensions,
    units,
    files,
    runs,
    failedUnits,
    journalErrors: lines(s.get("journal-errors")?.text).filter(
      (l) => !/^-- (No entries|Journal begins)/.test(l),
    ),
    checks,
    console: input.console,
  };
}
