// Content rules: device nodes, setuid/setgid and world-writable files, and an extension with nothing in it.
import { EXTENSION_RELEASE_DIR } from "../release/release-file.js";
import { SPEC_ADVICE, type FixAdvice } from "./advice.js";
import type { Finding } from "./finding.js";
import { sortedPaths } from "./layout.js";
import type { TreeView } from "./view.js";

export function checkContent(builder: TreeView, advice: FixAdvice = SPEC_ADVICE): Finding[] {
  const out: Finding[] = [];
  let payload = 0;
  for (const path of sortedPaths(builder)) {
    const e = builder.get(path);
    if (!e) continue;
    if ((e.type === "file" || e.type === "symlink") && !path.startsWith(`${EXTENSION_RELEASE_DIR}/`))
      payload++;
    if (e.type === "char" || e.type === "block" || e.type === "fifo" || e.type === "socket") {
      // 0:0 character devices are whiteouts, reported by checkOverlayMarkers.
      if (e.type === "char" && (e.devMajor ?? 0) === 0 && (e.devMinor ?? 0) === 0) continue;
      out.push({
        code: "device-node",
        severity: "warning",
        path,
        message: `${path} is a ${e.type}${e.type === "char" || e.type === "block" ? ` device ${e.devMajor ?? 0}:${e.devMinor ?? 0}` : ""}; extensions normally carry none, and systemd mounts them nodev`,
        hint: `remove it from the sources (${advice.remove(path)})`,
      });
      continue;
    }
    if (e.type === "file" && (e.mode & 0o6000) !== 0) {
      out.push({
        code: "setuid-file",
        severity: "warning",
        path,
        message: `${path} is ${e.mode & 0o4000 ? "setuid" : "setgid"} (mode ${e.mode.toString(8).padStart(4, "0")}); it runs with raised privileges on every host that merges the image`,
        hint: "drop the setuid/setgid bit unless the program needs it",
      });
    }
    if (e.type !== "symlink" && (e.mode & 0o002) !== 0 && !(e.type === "dir" && (e.mode & 0o1000) !== 0)) {
      out.push({
        code: "world-writable",
        severity: "warning",
        path,
        message: `${path} is world-writable (mode ${e.mode.toString(8).padStart(4, "0")})`,
        hint: "use 0755 for directories and executables, 0644 for other files (the merged tree is read-only anyway)",
      });
    }
  }
  if (payload === 0) {
    out.push({
      code: "empty-extension",
      severity: "error",
      message: "the extension holds no files or symlinks besides its release file",
      hint: "check the sources, exclude and strip rules; every path may have been filtered out",
    });
  }
  return out;
}
