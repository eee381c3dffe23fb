// The files a boot test places into the guest: the probe, its unit and inputs, the sysext debug drop-in, the images.
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SysextError } from "../errors.js";
import { inspectImage } from "../image/inspect.js";
import { renderIni } from "../util/kv-writer.js";
import type { GuestFile } from "./inject.js";

/** templates/boot of the package (src/boot and dist/boot are both two levels below the package root). */
const TEMPLATES = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "templates", "boot");

export const PROBE_DIR = "/var/lib/sysextkit-probe";
const UNIT_DIR = "usr/lib/systemd/system";

/** One extension image as the guest sees it: its name (file name minus .raw) and where it is placed. */
export interface PlacedImage {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  /** "EXTENSION KIND VALUE" lines for the probe's units file. */
  readonly unitLines: readonly string[];
  readonly unitsNote: string | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * Where an image goes in the guest and which of its units the probe looks at: drop-ins of targets
 * (Upholds=/Wants=/Requires=, read in the guest after the merge) and links in .wants/ and .upholds/.
 */
export async function placeImage(
  image: { path: string; as?: string | undefined },
  extensionsDir: string,
): Promise<PlacedImage> {
  const file = image.as ?? basename(image.path);
  const name = file.replace(/\.raw$/, "");
  if (!NAME.test(name)) {
    throw new SysextError("USAGE", `${JSON.stringify(file)} is not a usable extension file name`, {
      location: { file: image.path },
      hint: "name images NAME.raw with letters, digits, . _ + - (systemd-sysext takes NAME from the file name)",
    });
  }
  const unitLines: string[] = [];
  let unitsNote: string | undefined;
  try {
    const info = await inspectImage(image.path);
    for (const f of info.files) {
      if (!f.path.startsWith(`${UNIT_DIR}/`)) continue;
      const rel = f.path.slice(UNIT_DIR.length + 1).split("/");
      if (rel.length !== 2) continue;
      const [dir, entry] = rel as [string, string];
      if (dir.endsWith(".d") && entry.endsWith(".conf") && f.type !== "dir") {
        unitLines.push(`${name} dropin /${f.path}`);
      } else if (/\.(wants|upholds|requires)$/.test(dir) && NAME.test(entry)) {
        unitLines.push(`${name} want ${entry}`);
      }
    }
  } catch (e) {
    unitsNote = `its units were not listed: ${(e as Error).message}`;
  }
  return { name, source: image.path, target: `${extensionsDir}/${file}`, unitLines, unitsNote };
}

export interface ProbeInputs {
  readonly images: readonly PlacedImage[];
  readonly expectActive: readonly string[];
  readonly expectFiles: readonly string[];
  readonly runs: readonly string[];
  /** Guest uptime (s) by which the probe stops waiting for the boot and reports what it has. */
  readonly deadlineS: number;
  readonly settleS: number;
  readonly jobsWaitS: number;
  /** Seconds the same jobs may stay queued before the probe calls the boot stalled and looks anyway. */
  readonly stallS: number;
  readonly runTimeoutS: number;
  /** Log systemd-sysext at debug level in the guest, so the journal says why an image is not merged. */
  readonly sysextDebug: boolean;
}

/** Everything the probe needs, as guest files (the images themselves included). */
export async function probeFiles(p: ProbeInputs): Promise<GuestFile[]> {
  const template = (name: string) => readFile(join(TEMPLATES, name), "utf8");
  for (const path of p.expectFiles) {
    if (!path.startsWith("/") || /[\n\r]/.test(path)) {
      throw new SysextError("USAGE", `--expect-file ${JSON.stringify(path)} is not an absolute guest path`, {
        hint: "give the path as the guest sees it, e.g. /usr/bin/vmtoolsd",
      });
    }
  }
  for (const u of p.expectActive) {
    if (!NAME.test(u) && !/^[A-Za-z0-9:_.@\\-]+$/.test(u)) {
      throw new SysextError("USAGE", `--expect-active ${JSON.stringify(u)} is not a unit name`, {
        hint: "give a unit name such as vmtoolsd.service",
      });
    }
  }
  const units = [...p.images.flatMap((i) => i.unitLines), ...p.expectActive.map((u) => `- unit ${u}`)];
  const files: GuestFile[] = [
    ...p.images.map((i) => ({ target: i.target, source: i.source, mode: 0o644 })),
    { target: `${PROBE_DIR}/probe.sh`, content: await template("probe.sh"), mode: 0o755 },
    {
      target: `${PROBE_DIR}/settings`,
      content: `DEADLINE=${Math.round(p.deadlineS)}\nSETTLE=${Math.round(p.settleS)}\nJOBS_WAIT=${Math.round(p.jobsWaitS)}\nSTALL=${Math.round(p.stallS)}\nRUN_TIMEOUT=${Math.round(p.runTimeoutS)}\n`,
    },
    { target: `${PROBE_DIR}/units`, content: units.map((l) => `${l}\n`).join("") },
    { target: `${PROBE_DIR}/files`, content: p.expectFiles.map((f) => `${f}\n`).join("") },
    ...p.runs.map((cmd, i) => ({ target: `${PROBE_DIR}/run/${i + 1}.sh`, content: `${cmd}\n` })),
    {
      target: "/etc/systemd/system/sysextkit-probe.service",
      content: await template("sysextkit-probe.service"),
    },
    {
      target: "/etc/systemd/system/multi-user.target.wants/sysextkit-probe.service",
      symlink: "/etc/systemd/system/sysextkit-probe.service",
    },
  ];
  if (p.sysextDebug) {
    files.push({
      target: "/etc/systemd/system/systemd-sysext.service.d/50-sysextkit-debug.conf",
      content: renderIni(
        "sysext debug drop-in",
        [{ name: "Service", entries: [["Environment", "SYSTEMD_LOG_LEVEL=debug"]] }],
        ["Placed by sysextkit test: systemd-sysext says in the journal why it skips an image."],
      ),
    });
  }
  return files;
}
