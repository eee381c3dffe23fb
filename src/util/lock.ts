// Inter-process locks on a path: a lock file holding the owner's PID; locks of dead processes are taken over.
import { open, readFile, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { SysextError } from "../errors.js";

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Take `<path>.lock`. When another live process holds it: wait (polling) up to `waitMs`, then fail with
 * a LOCKED-style USAGE error naming the holder; `waitMs: 0` fails at once. A lock left by a dead
 * process is removed and taken.
 */
export async function acquireLock(
  path: string,
  options: { waitMs?: number; what?: string } = {},
): Promise<Lock> {
  const file = `${path}.lock`;
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    try {
      const fh = await open(file, "wx");
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return { file, release: () => rm(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      // Stale (dead owner, or a file still being written: give the writer a moment first).
      if (!Number.isInteger(holder)) await sleep(50);
      const again = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
      if (!Number.isInteger(again) || !alive(again)) await rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new SysextError("USAGE", `${options.what ?? path} is in use by process ${holder}`, {
        location: { file },
        hint: `wait for process ${holder} to finish; if it no longer exists, remove ${file}`,
      });
    }
    await sleep(500);
  }
}

/** Run `fn` while holding the lock on `path`. */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: { waitMs?: number; what?: string } = {},
): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
