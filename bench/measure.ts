// Run a command and measure it: wall time and peak RSS of its whole process tree, sampled from /proc.
import { execa } from "execa";
import { readdirSync, readFileSync } from "node:fs";

export interface Measured {
  readonly seconds: number;
  /** Highest sum of VmRSS over the process and all its descendants at one sample. */
  readonly treePeakMiB: number;
  /** VmHWM (the kernel's own peak RSS) of the process started, at its last sample. */
  readonly ownPeakMiB: number;
  readonly stdout: string;
}

/** Parent pid of every process (one pass over /proc). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      // The command name is in parentheses and may contain spaces: fields start after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The process and its descendants. */
function tree(root: number): number[] {
  const ppids = parents();
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of ppids) if (pp === out[i]) out.push(pid);
  return out;
}

/** Run `cmd args` to completion (failing on a non-zero exit), sampling its process tree every `everyMs`. */
export async function measure(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; everyMs?: number } = {},
): Promise<Measured> {
  const t0 = process.hrtime.bigint();
  const child = execa(cmd, args, {
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.env === undefined ? {} : { env: opts.env, extendEnv: false }),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const pid = child.pid!;
  let treeKb = 0;
  let ownKb = 0;
  const sample = () => {
    let sum = 0;
    for (const p of tree(pid)) sum += statusKb(p, "VmRSS");
    treeKb = Math.max(treeKb, sum);
    ownKb = Math.max(ownKb, statusKb(pid, "VmHWM"));
  };
  const timer = setInterval(sample, opts.everyMs ?? 100);
  try {
    const r = await child;
    return {
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      treePeakMiB: treeKb / 1024,
      ownPeakMiB: ownKb / 1024,
      stdout: String(r.stdout),
    };
  } finally {
    clearInterval(timer);
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
