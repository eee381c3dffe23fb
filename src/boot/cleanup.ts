// Cleanup that also runs when the process is interrupted: SIGINT/SIGTERM kill the guest and remove temp files.
import { rmSync } from "node:fs";

type Task = () => void;

const tasks = new Set<Task>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  process.removeListener("exit", runAll);
  installed = false;
  // Die of the same signal, so the parent sees how we ended (130 for SIGINT, 143 for SIGTERM).
  process.kill(process.pid, signal);
}

function runAll(): void {
  for (const t of [...tasks].reverse()) {
    tasks.delete(t);
    try {
      t();
    } catch {
      // best effort: the next task still runs
    }
  }
}

/**
 * Register synchronous cleanup (kill a process, remove a directory) that runs on SIGINT/SIGTERM before
 * the process dies of that signal. Returns the function that unregisters it (call it after the normal
 * cleanup ran).
 */
export function onInterrupt(task: Task): () => void {
  if (!installed) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // Also when the process ends any other way (an uncaught error, process.exit): kill, remove.
    process.on("exit", runAll);
    installed = true;
  }
  tasks.add(task);
  return () => {
    tasks.delete(task);
    if (tasks.size === 0 && installed) {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      process.removeListener("exit", runAll);
      installed = false;
    }
  };
}

/** A cleanup task that removes `path` recursively. */
export function removeTree(path: string): Task {
  return () => rmSync(path, { recursive: true, force: true });
}
