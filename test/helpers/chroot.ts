// Test harness: run a newer systemd's tools from a cached Debian root (scripts/roots.ts) with chroot, on a throwaway overlay.
//
// The cached root is shared (other tests and developers use it), so it is never written: inside a private
// mount namespace (unshare -m) an overlay puts a scratch upper directory over it, /dev, /proc, /sys and a
// fresh /run and /tmp are mounted, the tree is made shared (systemd-sysext merges in a child namespace and
// propagates the result back), and the script runs chrooted there. Every mount belongs to the
// namespace and is gone when the script ends; files the script writes land in `upper`, where the test
// reads them. Files placed into `upper` before the run appear inside the root (e.g. /etc/systemd/...).
import { execa } from "execa";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRoot, type RootName } from "../../scripts/roots.js";

export interface ChrootRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolsRoot {
  readonly name: RootName;
  /** Writable layer: `${upper}/etc/x` is `/etc/x` inside the root. */
  readonly upper: string;
  /** Run a sh script chrooted into the root (over `upper`); never rejects. */
  run(script: string, env?: Record<string, string>): Promise<ChrootRun>;
  /** Remove the writable layer (the cached root is never touched). */
  dispose(): Promise<void>;
}

const MOUNT = `
set -e
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$W/upper,workdir=$W/work" "$W/merged"
mount --rbind /dev "$W/merged/dev"
mount -t proc proc "$W/merged/proc"
mount --rbind /sys "$W/merged/sys"
mount -t tmpfs tmpfs "$W/merged/run"
mount -t tmpfs tmpfs "$W/merged/tmp"
mount --make-rshared "$W/merged"
set +e
exec chroot "$W/merged" /bin/sh -c "$SCRIPT"
`;

/** A fresh writable view of a cached tools root (made by debootstrap first when missing). */
export async function toolsRoot(name: RootName): Promise<ToolsRoot> {
  const lower = await ensureRoot(name);
  const w = await mkdtemp(join(tmpdir(), `sysextkit-${name}-`));
  for (const d of ["upper", "work", "merged"]) await mkdir(join(w, d));
  return {
    name,
    upper: join(w, "upper"),
    async run(script, env = {}) {
      const r = await execa("unshare", ["-m", "--propagation", "private", "sh", "-c", MOUNT], {
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LOWER: lower, W: w, SCRIPT: script, ...env },
        extendEnv: false,
        reject: false,
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    dispose: () => rm(w, { recursive: true, force: true }),
  };
}

/** The systemd version of a tools root (e.g. 257), from `systemctl --version` run inside it. */
export async function systemdVersionOf(root: ToolsRoot): Promise<number> {
  const r = await root.run("systemctl --version");
  const m = /^systemd (\d+)/m.exec(r.stdout);
  if (!m) throw new Error(`cannot read the systemd version of ${root.name}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}
