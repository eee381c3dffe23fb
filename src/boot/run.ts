// Runs one QEMU guest to its end: bounded by a timeout, killed as a process group, also on SIGINT/SIGTERM.
import { readFile } from "node:fs/promises";
import { requireTool, spawnTool } from "../util/exec.js";
import { onInterrupt } from "./cleanup.js";

export interface GuestRun {
  readonly outcome: "exited" | "timeout";
  readonly exitCode: number | undefined;
  readonly wallMs: number;
  /** QEMU's own stderr (warnings, errors starting the guest). */
  readonly stderr: string;
}

/** Lines of the serial console that tell how far the guest got, for progress output. */
const MILESTONES: ReadonlyArray<readonly [RegExp, string]> = [
  [/Linux version/, "kernel started"],
  [/Run \/init as init process/, "initramfs running"],
  [/systemd\[1\]: systemd \d+/, "systemd started"],
  [/Started .*sysextkit boot test probe/, "probe running"],
  [/reboot: Power down|Power down/, "powered off"],
];

/**
 * Start `binary args` in its own process group under `timeout` (so the guest dies with a SIGKILLed
 * parent too), wait until it exits or `timeoutMs` passes, then kill the whole group.
 */
export async function runGuest(options: {
  binary: string;
  args: readonly string[];
  timeoutMs: number;
  consoleLog: string;
  onMilestone?: (what: string) => void;
}): Promise<GuestRun> {
  const timeoutTool = await requireTool("timeout");
  const qemu = await requireTool(options.binary);
  const hardLimit = Math.ceil(options.timeoutMs / 1000) + 30;
  const t0 = Date.now();
  const child = spawnTool(timeoutTool, ["-s", "KILL", String(hardLimit), qemu, ...options.args], {
    detached: true,
    reject: false,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const pid = child.pid;
  const killGroup = () => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const unregister = onInterrupt(killGroup);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  const seen = new Set<string>();
  const watch = setInterval(() => {
    if (!options.onMilestone) return;
    void readFile(options.consoleLog, "latin1")
      .then((text) => {
        for (const [re, what] of MILESTONES) {
          if (seen.has(what) || !re.test(text)) continue;
          seen.add(what);
          options.onMilestone?.(what);
        }
      })
      .catch(() => undefined);
  }, 1000);
  try {
    const r = await child;
    return {
      outcome: timedOut ? "timeout" : "exited",
      exitCode: r.exitCode,
      wallMs: Date.now() - t0,
      stderr: String(r.stderr ?? ""),
    };
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
    killGroup();
    unregister();
  }
}
