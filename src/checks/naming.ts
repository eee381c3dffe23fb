// Release-file rules: exactly one extension-release.<name>, readable, with fields systemd can match.
import { readSync, openSync, closeSync } from "node:fs";
import { isSystemdArch, lookupArch } from "../base/arch.js";
import { EXTENSION_RELEASE_DIR } from "../release/release-file.js";
import type { TreeBuilder } from "../tree/tree.js";
import type { FileEntry } from "../tree/types.js";
import { parseEnvFile } from "../util/env-file.js";
import { LIMITS } from "../util/limits.js";
import type { Finding } from "./finding.js";
import type { CheckContext } from "./index.js";
import { sortedPaths } from "./layout.js";

export function checkReleaseFile(builder: TreeBuilder, ctx: CheckContext): Finding[] {
  const dir = builder.get(EXTENSION_RELEASE_DIR);
  if (dir && dir.type !== "dir") {
    return [
      {
        code: "release-dir-not-directory",
        severity: "error",
        path: EXTENSION_RELEASE_DIR,
        message: `${EXTENSION_RELEASE_DIR} is a ${dir.type}, not a directory; systemd would look outside the image or fail`,
        hint: "remove it from the sources; sysextkit writes the release file itself",
      },
    ];
  }
  const expected = `${EXTENSION_RELEASE_DIR}/extension-release.${ctx.name}`;
  const prefix = `${EXTENSION_RELEASE_DIR}/`;
  const inDir = sortedPaths(builder).filter(
    (p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"),
  );
  const out: Finding[] = [];
  const others = inDir.filter((p) => p !== expected);
  if (!builder.has(expected) || others.length > 0) {
    out.push({
      code: "release-name-mismatch",
      severity: "error",
      path: others[0] ?? expected,
      message: builder.has(expected)
        ? `${EXTENSION_RELEASE_DIR} holds other files besides extension-release.${ctx.name}: ${others.map((p) => p.slice(prefix.length)).join(", ")}`
        : `no ${expected}${others.length > 0 ? ` (found ${others.map((p) => p.slice(prefix.length)).join(", ")})` : ""}; systemd-sysext merge fails as a whole for such an image`,
      hint: `the image ${ctx.name}.raw must carry exactly one release file, extension-release.${ctx.name}; remove the others from the sources`,
    });
  }
  if (/[_+]/.test(ctx.name) && !ctx.spec.release.nonStrictName) {
    // systemd v256+ path_extract_image_name() cuts image names at the first '_' or '+' (version suffixes).
    out.push({
      code: "name-version-separator",
      severity: "info",
      message: `the name ${ctx.name} contains '_' or '+', which systemd 256+ reads as the start of a version suffix`,
      hint: `${ctx.name}.raw works, but a versioned file name (${ctx.name}_1.raw) will not find its release file; use '-' in names, or set release.nonStrictName`,
    });
  }
  const entry = builder.get(expected);
  if (!entry) return out;
  if (entry.type !== "file") {
    out.push({
      code: "release-not-regular",
      severity: "error",
      path: expected,
      message: `${expected} is a ${entry.type}, not a regular file`,
      hint: "let sysextkit write the release file; remove the source that provides it",
    });
    return out;
  }
  const size = entry.content.kind === "bytes" ? entry.content.data.byteLength : entry.content.size;
  if (size > LIMITS.releaseFileBytes) {
    out.push({
      code: "release-file-too-large",
      severity: "error",
      path: expected,
      message: `${expected} is ${size} bytes; systemd reads release files of at most ${LIMITS.releaseFileBytes} bytes (64 MiB - 1) and refuses the image`,
      hint: "shorten the values that go into it (metadata.displayName, release.extra, ...)",
    });
    return out;
  }
  let fields: Map<string, string>;
  try {
    fields = parseEnvFile(readSmall(entry), expected);
  } catch (e) {
    out.push({
      code: "release-file-invalid",
      severity: "error",
      path: expected,
      message: `${expected} cannot be parsed: ${e instanceof Error ? e.message : String(e)}`,
      hint: "release files hold KEY=value lines",
    });
    return out;
  }
  if (!fields.get("ID")) {
    out.push({
      code: "release-missing-id",
      severity: "error",
      path: expected,
      message: `${expected} has no ID=; systemd-sysext ignores such an image`,
      hint: "set ID to the base OS ID, or _any for host-independent content",
    });
  }
  const arch = fields.get("ARCHITECTURE");
  if (arch !== undefined && arch !== "" && arch !== "_any" && !isSystemdArch(arch)) {
    const fix = lookupArch(arch);
    out.push({
      code: "architecture-spelling",
      severity: "error",
      path: expected,
      message: `ARCHITECTURE=${arch} is not systemd's spelling; it never matches any host`,
      hint: fix
        ? `write ARCHITECTURE=${fix}`
        : "use a systemd architecture name such as x86-64 or arm64, or _any",
    });
  }
  return out;
}

function readSmall(entry: FileEntry): string {
  const c = entry.content;
  if (c.kind === "bytes") return new TextDecoder().decode(c.data);
  const buf = Buffer.alloc(c.size);
  const fd = openSync(c.path, "r");
  try {
    let done = 0;
    while (done < c.size) {
      const n = readSync(fd, buf, done, c.size - done, c.offset + done);
      if (n === 0) break;
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf.toString("utf8");
}
