// Temporary files and directories named after their owner's PID: removed on SIGINT/SIGTERM, and by the next run once that PID is gone.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

/**
 * Every temporary name sysextkit makes carries the PID of the process that owns it:
 * - `.NAME.tmp-PID-HEX8[...]` beside an output (files, staged release directories, payload chunk dirs);
 * - `sysextkit-KIND-PID-XXXXXX` work directories under the system temporary directory.
 * A name whose PID no longer runs is a leftover of a killed run and is removed by the next run.
 */
const SIBLING = /^\..+\.tmp-(\d+)-[0-9a-f]{8}/;
const WORKDIR = /^sysextkit-[a-z]+-(\d+)-[A-Za-z0-9]{6}$/;

/** A temporary sibling name for `finalPath`, hidden, unique, tagged with this process's PID. */
export function tempSibling(finalPath: string): string {
  return join(
    dirname(finalPath),
    `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
}

/** The PID a temporary name belongs to, or undefined for names that are not ours. */
export function tempOwner(name: string): number | undefined {
  const m = SIBLING.exec(name) ?? WORKDIR.exec(name);
  return m ? Number(m[1]) : undefined;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove the leftovers of dead processes in `dir` (temporary names of ours whose PID no longer runs).
 * Names of live processes, and everything that is not a temporary name of ours, stay. Returns what was removed.
 */
export async function sweepStale(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const pid = tempOwner(n);
    if (pid === undefined || alive(pid)) continue;
    await rm(join(dir, n), { recursive: true, force: true }).catch(() => undefined);
    removed.push(n);
  }
  return removed;
}

const swept = new Set<string>();

/** sweepStale once per directory and process: leftovers only come from runs that ended before this one. */
export async function sweepStaleOnce(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  await sweepStale(dir);
}

const tracked = new Set<string>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const p of tracked) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      // best effort: the next run removes what is left (its PID is gone by then)
    }
  }
  tracked.clear();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  installed = false;
  // Die of the same signal, so the exit status says what happened (130 for SIGINT, 143 for SIGTERM).
  process.kill(process.pid, signal);
}

/**
 * Remove `path` if this process is interrupted (SIGINT, SIGTERM) before the returned function is called.
 * SIGKILL cannot be caught: its leftovers carry the PID and go with the next run's sweepStale.
 */
export function removeOnSignal(path: string): () => void {
  tracked.add(path);
  if (!installed) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    installed = true;
  }
  return () => {
    tracked.delete(path);
    if (tracked.size === 0 && installed) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      installed = false;
    }
  };
}

/**
 * A fresh work directory `sysextkit-KIND-PID-XXXXXX` under `parent` (default: the system temporary
 * directory), after removing stale ones of dead runs there. It is removed by `remove()` and on SIGINT/SIGTERM.
 */
export async function makeWorkDir(
  kind: string,
  parent = tmpdir(),
): Promise<{ readonly dir: string; remove(): Promise<void> }> {
  await sweepStaleOnce(parent);
  const dir = await mkdtemp(join(parent, `sysextkit-${kind}-${process.pid}-`));
  const untrack = removeOnSignal(dir);
  return {
    dir,
    async remove() {
      await rm(dir, { recursive: true, force: true });
      untrack();
    },
  };
}

/** Run `fn` with a work directory from makeWorkDir, removed afterwards (also on failure). */
export async function withWorkDir<T>(
  kind: string,
  fn: (dir: string) => Promise<T>,
  parent = tmpdir(),
): Promise<T> {
  const work = await makeWorkDir(kind, parent);
  try {
    return await fn(work.dir);
  } finally {
    await work.remove();
  }
}
