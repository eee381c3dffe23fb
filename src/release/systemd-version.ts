// The major version of the systemd installed on this machine, if any (for `check` defaults).
import { findTool, spawnTool } from "../util/exec.js";

export async function localSystemdVersion(): Promise<number | undefined> {
  const bin = await findTool("systemd-sysext");
  if (!bin) return undefined;
  const r = await spawnTool(bin, ["--version"], { reject: false });
  const m = /systemd (\d+)/.exec(String(r.stdout));
  return m ? Number(m[1]) : undefined;
}
