// Test helper: run a command as if some tools were not installed (bind-mount /dev/null over them in a private mount namespace).
import { execa } from "execa";
import { access, constants } from "node:fs/promises";
import { join } from "node:path";

const DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * Run `cmd args` with every copy of `tools` on the standard PATH directories hidden: inside `unshare -m`
 * each is covered by /dev/null, which has no execute bit, so lookups (ours and the shell's) fail.
 * Needs root and unshare; the machine's files are not touched.
 */
export async function runWithoutTools(
  tools: readonly string[],
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const hide: string[] = [];
  for (const t of tools) {
    for (const d of DIRS) {
      const p = join(d, t);
      if (
        await access(p, constants.F_OK).then(
          () => true,
          () => false,
        )
      )
        hide.push(p);
    }
  }
  const script = 'for p in $HIDE; do mount --bind /dev/null "$p" || exit 97; done; exec "$@"';
  const r = await execa(
    "unshare",
    ["-m", "--propagation", "private", "sh", "-c", script, "sh", cmd, ...args],
    {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: { ...(options.env ?? {}), HIDE: hide.join(" "), PATH: process.env.PATH ?? "/usr/bin:/bin" },
      extendEnv: false,
      reject: false,
    },
  );
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
