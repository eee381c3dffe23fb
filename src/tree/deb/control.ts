// Debian control data: deb822 paragraphs (control, dpkg status) and the control.tar member of a .deb.
import type { Readable } from "node:stream";
import { extract } from "tar-stream";
import { SysextError } from "../../errors.js";

/** One deb822 paragraph; keys are lower-cased field names, multi-line values joined with "\n". */
export type Paragraph = ReadonlyMap<string, string>;

/**
 * Parse deb822 text (a control file or a dpkg status database) into paragraphs. Continuation lines start
 * with a space or tab; a continuation line of a single "." stands for an empty line.
 */
export function parseDeb822(text: string, file = "(control)"): Paragraph[] {
  const out: Paragraph[] = [];
  let cur = new Map<string, string>();
  let last: string | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "") {
      if (cur.size > 0) out.push(cur);
      cur = new Map();
      last = undefined;
      return;
    }
    if (line.startsWith("#")) return;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (last === undefined) {
        throw new SysextError("PACKAGE_INVALID", `continuation line without a field in ${file}`, {
          location: { file, line: i + 1 },
          hint: "control data must be 'Field: value' lines; the package is corrupt",
        });
      }
      const body = line.slice(1);
      cur.set(last, `${cur.get(last) ?? ""}\n${body.trim() === "." ? "" : body}`);
      return;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new SysextError(
        "PACKAGE_INVALID",
        `line is not 'Field: value' in ${file}: ${JSON.stringify(line)}`,
        {
          location: { file, line: i + 1 },
          hint: "the package's control data is corrupt; rebuild or download it again",
        },
      );
    }
    last = line.slice(0, colon).trim().toLowerCase();
    cur.set(last, line.slice(colon + 1).trim());
  });
  if (cur.size > 0) out.push(cur);
  return out;
}

/** Maintainer scripts and control files of interest besides "control". */
export const MAINTAINER_SCRIPTS = ["preinst", "postinst", "prerm", "postrm", "config"] as const;

export interface DebControl {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  /** All fields of the control file (lower-cased keys). */
  readonly fields: Paragraph;
  /** Paths from the conffiles file (absolute, as dpkg lists them). */
  readonly conffiles: readonly string[];
  /** Maintainer scripts present in the package: name -> contents. */
  readonly scripts: ReadonlyMap<string, string>;
  /** The triggers control file, when present. */
  readonly triggers: string | undefined;
}

const MAX_CONTROL_FILE = 4 << 20;

/** Read the files of a (decompressed) control.tar stream into memory; they are small. */
export async function readControlTar(
  input: NodeJS.ReadableStream,
  file: string,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const stream = input as Readable;
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, body, next) => {
      const name = header.name.replace(/^(\.\/)+/, "").replace(/\/$/, "");
      if (header.type !== "file" || name.includes("/") || (header.size ?? 0) > MAX_CONTROL_FILE) {
        body.on("end", next);
        body.resume();
        return;
      }
      const chunks: Buffer[] = [];
      body.on("data", (c: unknown) => {
        chunks.push(c as Buffer);
      });
      body.on("end", () => {
        files.set(name, Buffer.concat(chunks).toString("utf8"));
        next();
      });
      body.on("error", reject);
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
    stream.on("error", reject);
  });
  stream.pipe(ex);
  try {
    await done;
  } catch (e) {
    ex.destroy();
    stream.destroy();
    throw new SysextError("PACKAGE_INVALID", `${file}: control archive is corrupt: ${(e as Error).message}`, {
      location: { file },
      cause: e,
      hint: "download the package again or rebuild it with dpkg-deb --build",
    });
  }
  return files;
}

/**
 * A control field value that must match `shape` (deb-control(5)); package names and versions end up in
 * file names and in the release file, so anything else is refused.
 */
function checked(file: string, field: string, value: string, shape: RegExp): string {
  if (shape.test(value)) return value;
  throw new SysextError(
    "PACKAGE_INVALID",
    `${file}: control field ${field} has the invalid value ${JSON.stringify(value)}`,
    {
      location: { file, field: field.toLowerCase() },
      hint: "package names are lower-case letters, digits and +.-; versions letters, digits and .+~:-; the package is corrupt or not built by dpkg-deb",
    },
  );
}

/** Interpret the files of control.tar: the control paragraph, conffiles, maintainer scripts, triggers. */
export function interpretControl(files: ReadonlyMap<string, string>, file: string): DebControl {
  const control = files.get("control");
  if (control === undefined) {
    throw new SysextError("PACKAGE_INVALID", `${file} has no control file in its control archive`, {
      location: { file },
      hint: "the package is corrupt; rebuild it with dpkg-deb --build",
    });
  }
  const [fields] = parseDeb822(control, `${file}:control`);
  const need = (key: string): string => {
    const v = fields?.get(key);
    if (!v) {
      throw new SysextError(
        "PACKAGE_INVALID",
        `${file}: control file has no ${key[0]!.toUpperCase()}${key.slice(1)} field`,
        {
          location: { file, field: key },
          hint: "every package needs Package, Version and Architecture fields",
        },
      );
    }
    return v;
  };
  const pkg = checked(file, "Package", need("package"), /^[a-z0-9][a-z0-9+.-]*$/);
  const version = checked(file, "Version", need("version"), /^[A-Za-z0-9.+~:-]+$/);
  const architecture = checked(file, "Architecture", need("architecture"), /^[a-z0-9-]+$/);
  const conffiles = (files.get("conffiles") ?? "")
    .split("\n")
    .map((l) => l.trim())
    // dpkg >= 1.20 may prefix flags such as "remove-on-upgrade"; the path is the last word.
    .map((l) => l.split(/\s+/).find((w) => w.startsWith("/")) ?? "")
    .filter((l) => l !== "");
  const scripts = new Map<string, string>();
  for (const s of MAINTAINER_SCRIPTS) {
    const body = files.get(s);
    if (body !== undefined) scripts.set(s, body);
  }
  return {
    package: pkg,
    version,
    architecture,
    fields: fields!,
    conffiles,
    scripts,
    triggers: files.get("triggers"),
  };
}
