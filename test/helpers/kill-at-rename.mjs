// Test preload (node --import): SIGKILL this process at the Nth rename into a directory, before or after it, or record the renames.
//   KILL_RENAME_DIR=dir  renames whose destination lies below dir count (others are ignored)
//   KILL_RENAME_AT=N     kill at the Nth counted rename (1-based); KILL_RENAME_WHEN=before|after (default before)
//   KILL_RENAME_LOG=file append each counted destination to file (to learn the rename points)
//   KILL_RENAME_SIGNAL=SIGTERM|SIGINT  send that signal instead of SIGKILL, then wait (the program's handler must end it)
import { appendFileSync } from "node:fs";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { resolve, sep } from "node:path";

const dir = process.env.KILL_RENAME_DIR ? resolve(process.env.KILL_RENAME_DIR) : undefined;
const at = Number(process.env.KILL_RENAME_AT ?? 0);
const after = process.env.KILL_RENAME_WHEN === "after";
const log = process.env.KILL_RENAME_LOG;
let count = 0;

function point(dest) {
  const d = resolve(String(dest));
  if (!dir || !(d === dir || d.startsWith(dir + sep))) return false;
  count++;
  if (log) appendFileSync(log, `${d}\n`);
  return count === at;
}
const signal = process.env.KILL_RENAME_SIGNAL ?? "SIGKILL";

/** SIGKILL ends the process at once; a catchable signal is sent and the rename never returns. */
async function die() {
  process.kill(process.pid, signal);
  await new Promise(() => setTimeout(() => {}, 60_000));
}

const asyncRename = fsp.rename;
fsp.rename = async (from, to) => {
  const hit = point(to);
  if (hit && !after) await die();
  await asyncRename(from, to);
  if (hit) await die();
};
const syncRename = fs.renameSync;
fs.renameSync = (from, to) => {
  const hit = point(to);
  if (hit && !after) process.kill(process.pid, "SIGKILL");
  syncRename(from, to);
  if (hit) process.kill(process.pid, "SIGKILL");
};
syncBuiltinESMExports();
