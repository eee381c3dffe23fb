// Where sysextkit keeps downloaded inputs between runs: $SYSEXTKIT_CACHE, else a per-user cache directory.
import { homedir } from "node:os";
import { join } from "node:path";

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SYSEXTKIT_CACHE) return env.SYSEXTKIT_CACHE;
  if (process.getuid?.() === 0) return "/var/cache/sysextkit";
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "sysextkit");
}
