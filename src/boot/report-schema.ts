// The boot test report as data: its zod schema (the JSON Schema of `sysextkit test --json`) and types.
import { z } from "zod";

/** Bumped when a field changes meaning or goes away (new fields do not bump it). */
export const BOOT_REPORT_VERSION = 1;

const unitReport = z.strictObject({
  /** The name asked for (an alias such as vmtoolsd.service, or the unit's own name). */
  name: z.string(),
  /** The unit's own name (systemctl show -p Id). */
  id: z.string(),
  /** The extension whose drop-in or .wants/ link names it; undefined for --expect-active units. */
  extension: z.string().optional(),
  load: z.string(),
  active: z.string(),
  sub: z.string(),
  result: z.string(),
  /** Main process: how it ended (exited, killed, ...) and its status (exit code or signal). */
  execMainCode: z.number().optional(),
  execMainStatus: z.number().optional(),
  restarts: z.number(),
  /** Its job still queued when the probe looked ("start waiting": ordered after a unit still starting). */
  job: z.string().optional(),
  /**
   * How often it failed during the boot ("Failed with result" in its journal), restarts by Upholds= or
   * Restart= included: a unit found active that failed twice or more is flapping and counts as failed.
   */
  failures: z.number().optional(),
  /** The first condition or assertion that failed, as systemd spells it ("ConditionVirtualization=microsoft"). */
  failedCondition: z.string().optional(),
  /** Why QEMU cannot make that condition true in this dress, when it is a known platform limit. */
  platformLimit: z.string().optional(),
  /**
   * active (running, or exited with RemainAfterExit), exited (ran and finished successfully), starting
   * (still activating), failed, condition (skipped by a condition), inactive (never started), not-found.
   */
  verdict: z.enum(["active", "exited", "starting", "failed", "condition", "inactive", "not-found"]),
  /** The unit's journal lines of this boot (last 40). */
  journal: z.array(z.string()),
});

const check = z.strictObject({
  /** Stable identifier: boot.completed, sysext.enabled, extension.merged, unit.started, ... */
  id: z.string(),
  /** What it is about (an extension, unit, path or command). */
  subject: z.string().optional(),
  /** error: fails the test when not ok; warning: said, but does not fail it. */
  severity: z.enum(["error", "warning"]),
  ok: z.boolean(),
  message: z.string(),
  hint: z.string().optional(),
});

export const bootReportSchema = z.strictObject({
  /** Written by `sysextkit test --json` as by every --json output (src/cli/output.ts); not by bootTest(). */
  schemaVersion: z.literal(1).optional(),
  kind: z.literal("sysextkit-boot-report"),
  version: z.literal(BOOT_REPORT_VERSION),
  /** true only when every check of severity error holds. */
  ok: z.boolean(),
  base: z.strictObject({
    path: z.string(),
    kind: z.enum(["directory", "raw", "qcow2"]),
    kernel: z.string(),
    initrd: z.string().optional(),
  }),
  guest: z.strictObject({
    arch: z.string(),
    accel: z.enum(["kvm", "tcg"]),
    accelReason: z.string(),
    platform: z.string(),
    network: z.enum(["none", "user"]),
    memoryMiB: z.number(),
    cpus: z.number(),
    cmdline: z.string(),
  }),
  /** completed: the probe finished and the guest powered off by itself. */
  outcome: z.enum(["completed", "timeout", "exited-early"]),
  timing: z.strictObject({
    /** QEMU start to QEMU exit, measured on the host. */
    wallMs: z.number(),
    /** Guest uptime when the boot had finished (is-system-running returned), in ms. */
    bootMs: z.number().optional(),
    /** systemd-analyze time, as the guest printed it. */
    analyze: z.string().optional(),
    /**
     * The boot stalled: these jobs ("UNIT TYPE STATE") stayed queued, unchanged, for the stall time, so the
     * probe stopped waiting for the boot to finish (an agent waiting for a cloud endpoint that never answers).
     */
    stalledJobs: z.array(z.string()).optional(),
  }),
  os: z.strictObject({
    id: z.string().optional(),
    versionId: z.string().optional(),
    prettyName: z.string().optional(),
    systemd: z.string().optional(),
    /** systemctl is-system-running at the end of the boot (running, degraded, ...). */
    state: z.string().optional(),
  }),
  platform: z.strictObject({
    /** systemd-detect-virt in the guest. */
    detectVirt: z.string().optional(),
    /** On the real platform. */
    realVirt: z.string(),
    dmi: z.record(z.string(), z.string()),
  }),
  sysext: z.strictObject({
    /** UnitFileState of systemd-sysext.service (enabled, disabled, ...). */
    enabled: z.string().optional(),
    active: z.string().optional(),
    result: z.string().optional(),
    /** Extensions merged into /usr (systemd-sysext status). */
    merged: z.array(z.string()),
    status: z.string().optional(),
    /** systemd-sysext.service's journal lines of this boot. */
    journal: z.array(z.string()),
  }),
  extensions: z.array(
    z.strictObject({
      name: z.string(),
      image: z.string(),
      merged: z.boolean(),
      /** systemd's own words on the image from the guest's journal, when it was not merged. */
      reason: z.array(z.string()).optional(),
      units: z.array(unitReport),
      /** Why its units could not be listed (for example an image format inspect does not read). */
      unitsNote: z.string().optional(),
    }),
  ),
  units: z.array(unitReport),
  files: z.array(
    z.strictObject({
      path: z.string(),
      exists: z.boolean(),
      type: z.string().optional(),
      mode: z.string().optional(),
      owner: z.string().optional(),
      size: z.number().optional(),
    }),
  ),
  runs: z.array(
    z.strictObject({
      command: z.string(),
      exitCode: z.number().optional(),
      timedOut: z.boolean(),
      output: z.string(),
    }),
  ),
  failedUnits: z.array(z.strictObject({ unit: z.string(), description: z.string() })),
  journalErrors: z.array(z.string()),
  checks: z.array(check),
  /** The last lines of the serial console (all of it is in the console log when kept). */
  console: z.strictObject({ log: z.string().optional(), tail: z.array(z.string()) }),
});

export type BootReport = z.infer<typeof bootReportSchema>;
export type UnitReport = z.infer<typeof unitReport>;
export type BootCheck = z.infer<typeof check>;

/** JSON Schema of the report (`sysextkit test --json` prints one such object). */
export function bootReportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(bootReportSchema, { io: "output" }) as Record<string, unknown>;
}
