// Test helpers for kill tests: run the CLI with a preload that SIGKILLs it at the Nth rename into a directory.
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { cli, REPO, type CliResult } from "./cli.js";

const HOOK = join(REPO, "test/helpers/kill-at-rename.mjs");
const run = promisify(execFile);
export interface RunOptions {
  /** TMPDIR of the run (work directories land there). */
  tmp: string;
  /** Renames into this directory are counted (and logged to `log`). */
  watch?: string;
  kill?: { at: number; when: "before" | "after"; signal?: "SIGTERM" | "SIGINT" };
  log?: string;
  epoch?: string;
}

/** Run the CLI with its own TMPDIR; with `kill`, SIGKILLed at that rename into `watch`. */
export async function sysextkit(args: string[], o: RunOptions): Promise<CliResult> {
  await mkdir(o.tmp, { recursive: true });
  return cli(args, {
    env: {
      TMPDIR: o.tmp,
      SOURCE_DATE_EPOCH: o.epoch ?? "1",
      NODE_OPTIONS: `--import ${HOOK}`,
      ...(o.watch ? { KILL_RENAME_DIR: o.watch } : {}),
      ...(o.kill ? { KILL_RENAME_AT: String(o.kill.at), KILL_RENAME_WHEN: o.kill.when } : {}),
      ...(o.kill?.signal ? { KILL_RENAME_SIGNAL: o.kill.signal } : {}),
      ...(o.log ? { KILL_RENAME_LOG: o.log } : {}),
    },
  });
}

/** A run that must succeed; returns the rename points (destinations below `watch`) when watched. */
export async function succeed(args: string[], o: RunOptions): Promise<string[]> {
  const log = o.watch ? join(o.tmp, `points-${Math.random().toString(16).slice(2)}`) : undefined;
  const r = await sysextkit(args, { ...o, ...(log ? { log } : {}) });
  expect(r.exitCode, r.stderr).toBe(0);
  return log ? (await readFile(log, "utf8")).trim().split("\n") : [];
}

/** A run that must die of SIGKILL at the given rename. */
export async function killed(args: string[], o: RunOptions & { watch: string; kill: RunOptions["kill"] }) {
  const r = await sysextkit(args, o);
  expect(r.signal, r.stderr).toBe("SIGKILL");
}

export async function copy(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await run("cp", ["-a", from, to]);
}

/** Leftover temporary names of ours (".NAME.tmp-PID-..." and "sysextkit-KIND-PID-...") below `root`. */
export async function leftovers(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (/\.tmp-\d+-|^sysextkit-/.test(e.name)) out.push(join(d, e.name));
      else if (e.isDirectory()) await walk(join(d, e.name));
    }
  };
  await walk(root);
  return out;
}

/** Run independent cases two at a time (the machine has two cores). */
export async function inPairs<T>(
  items: readonly T[],
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += 2) {
    await Promise.all(items.slice(i, i + 2).map((x, j) => fn(x, i + j)));
  }
}
