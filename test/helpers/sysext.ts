// Test harness: merge images with the real systemd-sysext into a scratch root inside a private mount namespace.
import { execa } from "execa";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface HostIdentity {
  /** os-release content of the scratch host, e.g. { ID: "flatcar", VERSION_ID: "3815.2.0" }. */
  readonly osRelease: Readonly<Record<string, string>>;
}

export interface MergeResult {
  /** Exit code of systemd-sysext merge. */
  readonly exitCode: number;
  readonly mergeOutput: string;
  /** Output of the script run while merged (empty when the merge failed). */
  readonly output: string;
  /** Exit code of the script run while merged. */
  readonly scriptExitCode: number;
}

/**
 * Create a scratch root with usr/lib/os-release and the given images under var/lib/extensions/, run
 * `systemd-sysext merge --root`, then `script` (a sh script; $ROOT is the root) while merged, then unmerge.
 * `root` may be an existing directory (for example a debootstrap root) that is used in place.
 */
export async function mergeInScratchRoot(options: {
  images: ReadonlyArray<{ file: string; as: string }>;
  host?: HostIdentity;
  root?: string;
  script?: string;
}): Promise<MergeResult> {
  const own = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "sysextkit-root-")));
  const extDir = join(root, "var/lib/extensions");
  try {
    if (options.host) {
      await mkdir(join(root, "usr/lib"), { recursive: true });
      const text = Object.entries(options.host.osRelease)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
        .join("");
      await writeFile(join(root, "usr/lib/os-release"), text);
    }
    await rm(extDir, { recursive: true, force: true });
    await mkdir(extDir, { recursive: true });
    for (const img of options.images) {
      // Directory extensions are copied as trees (var/lib/extensions/NAME/), raw images as files.
      if ((await stat(img.file)).isDirectory()) await execa("cp", ["-a", img.file, join(extDir, img.as)]);
      else await copyFile(img.file, join(extDir, img.as));
    }
    const script = [
      "set -u",
      "mount --make-rshared / && mount -t tmpfs tmpfs /run || exit 90",
      'systemd-sysext merge --root="$ROOT" >"$LOG" 2>&1; rc=$?',
      'echo "MERGE_EXIT=$rc"',
      "if [ $rc -eq 0 ]; then (" +
        (options.script ?? "true") +
        '); src=$?; echo "SCRIPT_EXIT=$src"; systemd-sysext unmerge --root="$ROOT" >/dev/null 2>&1; fi',
      "exit 0",
    ].join("\n");
    const log = join(root, ".merge.log");
    const r = await execa("unshare", ["-m", "--propagation", "private", "sh", "-c", script], {
      env: { ROOT: root, LOG: log },
      reject: false,
      all: true,
    });
    const out = String(r.all ?? "");
    const mergeExit = /MERGE_EXIT=(\d+)/.exec(out);
    const scriptExit = /SCRIPT_EXIT=(\d+)/.exec(out);
    const mergeOutput = await readFile(log, "utf8").catch(() => "");
    await rm(log, { force: true });
    if (!mergeExit) throw new Error(`merge harness failed: ${out}`);
    return {
      exitCode: Number(mergeExit[1]),
      mergeOutput,
      output: out.replace(/^(MERGE|SCRIPT)_EXIT=\d+\n?/gm, ""),
      scriptExitCode: scriptExit ? Number(scriptExit[1]) : -1,
    };
  } finally {
    if (own) await rm(root, { recursive: true, force: true });
    else await rm(extDir, { recursive: true, force: true });
  }
}
