// Reads the user xattrs of files on disk with GNU tar's PAX records (tar is Essential on Debian; no getfattr needed).
import tar from "tar-stream";
import { SysextError } from "../errors.js";
import { paxXattrs } from "../tree/sources/tar-reader.js";
import { requireTool, spawnTool } from "../util/exec.js";

/**
 * The `user.*` xattrs of `names` (paths relative to `dir`, never followed when they are symlinks), read
 * by archiving them with `tar --xattrs` and parsing the SCHILY.xattr PAX records. Files without xattrs
 * are absent from the result.
 */
export async function readUserXattrs(
  dir: string,
  names: readonly string[],
): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  if (names.length === 0) return out;
  const bin = await requireTool("tar");
  const child = spawnTool(
    bin,
    ["--xattrs", "--xattrs-include=user.*", "--no-recursion", "-C", dir, "-cf", "-", "--", ...names],
    { encoding: "buffer", buffer: { stdout: false }, stdout: "pipe", reject: false },
  );
  const extract = tar.extract();
  const parsed = (async () => {
    for await (const entry of extract) {
      const x = paxXattrs((entry.header as { pax?: Record<string, string> | null }).pax);
      if (x) out[entry.header.name.replace(/^\.\//, "")] = x;
      entry.resume();
    }
  })();
  child.stdout!.pipe(extract);
  const [r] = await Promise.all([child, parsed]);
  if (r.exitCode !== 0) {
    throw new SysextError("TOOL_FAILED", `tar could not read the xattrs of ${names.join(", ")} in ${dir}`, {
      hint: `tar said: ${Buffer.from(r.stderr as Uint8Array)
        .toString("utf8")
        .trim()}`,
    });
  }
  return out;
}
