// PID lock files: exclusive while the holder lives, taken over when it is dead, waited for when asked.
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, withLock } from "../../src/util/lock.js";
import { SysextError } from "../../src/errors.js";

const dir = await mkdtemp(join(tmpdir(), "sysextkit-lock-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("acquireLock", () => {
  it("writes our PID, refuses a second holder at once and names the holder", async () => {
    const target = join(dir, "a");
    const lock = await acquireLock(target);
    expect(await readFile(`${target}.lock`, "utf8")).toBe(`${process.pid}\n`);
    // Another live process holds it: write the PID of a running child into the lock.
    const child = execa("sleep", ["30"]);
    await writeFile(`${target}.lock`, `${child.pid}\n`);
    const err = await acquireLock(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SysextError);
    expect((err as SysextError).message).toContain(`process ${child.pid}`);
    child.kill();
    await child.catch(() => undefined);
    await lock.release();
  });

  it("takes over a lock whose process is dead", async () => {
    const target = join(dir, "b");
    const dead = execa("true");
    await dead;
    await writeFile(`${target}.lock`, `${dead.pid}\n`);
    const lock = await acquireLock(target);
    expect(await readFile(`${target}.lock`, "utf8")).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it("waits for a live holder when asked, and runs the critical sections one after the other", async () => {
    const target = join(dir, "c");
    const order: string[] = [];
    const first = withLock(target, async () => {
      order.push("first start");
      await new Promise((r) => setTimeout(r, 700));
      order.push("first end");
    });
    await new Promise((r) => setTimeout(r, 50));
    // Same process: the lock file names our own (live) PID, so the second caller must wait.
    await withLock(target, async () => void order.push("second"), { waitMs: 10_000 });
    await first;
    expect(order).toEqual(["first start", "first end", "second"]);
  });
});
