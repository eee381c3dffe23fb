// Test helper: run the sysextkit CLI as a user would (node bin/sysextkit.js), capturing output and exit code.
import { execa } from "execa";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = fileURLToPath(new URL("../../bin/sysextkit.js", import.meta.url));

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The signal that ended the process, if one did (exitCode is then -1). */
  readonly signal?: string;
}

export async function cli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; umask?: number; input?: string | Buffer } = {},
): Promise<CliResult> {
  const nodeArgs = [BIN, ...args];
  const r =
    options.umask === undefined
      ? await execa(process.execPath, nodeArgs, {
          cwd: options.cwd ?? REPO,
          env: options.env ?? {},
          reject: false,
          ...(options.input === undefined ? {} : { input: options.input }),
        })
      : await execa(
          "sh",
          ["-c", `umask ${options.umask.toString(8)} && exec "$@"`, "sh", process.execPath, ...nodeArgs],
          {
            cwd: options.cwd ?? REPO,
            env: options.env ?? {},
            reject: false,
          },
        );
  return {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    ...(r.signal ? { signal: r.signal } : {}),
  };
}

/** `sysextkit build` of examples/hello for `base` (an os-release file or root) and `arch` into `out`, then `extra`. */
export function helloBuildArgs(o: { base: string; arch: string; out: string }, ...extra: string[]): string[] {
  return [
    "build",
    "examples/hello/extension.yaml",
    "--base",
    o.base,
    "--arch",
    o.arch,
    "--out",
    o.out,
    ...extra,
  ];
}

/**
 * `sysextkit release` of examples/hello for the os-release file in `dir`, signed with each of `keys`, into
 * `out`, then `extra`: the command line the CLI tests of releases, secrets and interruptions start from.
 */
export function helloReleaseArgs(
  o: { dir: string; arch: string; keys: readonly string[]; out: string },
  ...extra: string[]
): string[] {
  return [
    "release",
    "--extension",
    "examples/hello",
    "--base",
    join(o.dir, "os-release"),
    "--arch",
    o.arch,
    ...o.keys.flatMap((k) => ["--key", k]),
    "--out",
    o.out,
    ...extra,
  ];
}
