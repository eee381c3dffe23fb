// `sysextkit init`'s library call: scaffold a new extension definition whose $schema works in the user's project.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { SysextError } from "../errors.js";
import { exists } from "../util/fs.js";

/** The extension.yaml JSON Schema shipped in this package (schema/ next to src/ or dist/). */
export const PACKAGE_SCHEMA_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "schema",
  "extension.schema.json",
);

/** The closest directory at or above `dir` holding a package.json: the user's project. */
async function projectRoot(dir: string): Promise<string | undefined> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (await exists(join(d, "package.json"))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Where the new spec's `$schema` points: the package's own schema file when the package is part of the
 * project (installed in its node_modules, or this checkout), relative to the spec; otherwise (npx cache,
 * global install) a copy written next to the definitions, `<parent>/extension.schema.json`.
 */
async function schemaReference(specDir: string, parent: string): Promise<{ ref: string; copy?: string }> {
  const project = await projectRoot(parent);
  const inside = project !== undefined && PACKAGE_SCHEMA_FILE.startsWith(project + sep);
  if (inside && !PACKAGE_SCHEMA_FILE.includes(`${sep}_npx${sep}`)) {
    return { ref: relative(specDir, PACKAGE_SCHEMA_FILE).split(sep).join("/") };
  }
  const copy = join(parent, "extension.schema.json");
  return { ref: relative(specDir, copy).split(sep).join("/"), copy };
}

/**
 * Write <parent>/<name>/{extension.yaml, root/usr/bin/<name>, units/<name>.service.tmpl} (refusing to
 * overwrite) and, when the package is not part of the project, <parent>/extension.schema.json.
 * Returns the files written.
 */
export async function scaffoldExtension(name: string, parent: string): Promise<string[]> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) {
    throw new SysextError("USAGE", `invalid extension name ${JSON.stringify(name)}`, {
      hint: "use letters, digits, '.', '_', '+', '-' (for example oem-example)",
    });
  }
  const dir = resolve(parent, name);
  if (await exists(dir)) {
    throw new SysextError("OUTPUT_EXISTS", `${dir} already exists`, {
      hint: "choose another name or remove it",
    });
  }
  const schema = await schemaReference(dir, resolve(parent));
  const unit = `${name}.service`;
  const created: Array<[string, string, number]> = [
    [join(dir, "extension.yaml"), specText(name, unit, schema.ref), 0o644],
    [join(dir, "units", `${unit}.tmpl`), unitText(name), 0o644],
    [
      join(dir, "root", "usr", "bin", name),
      `#!/bin/sh\n# ${name} placeholder tool shipped by the extension.\necho "${name} running"\n`,
      0o755,
    ],
  ];
  for (const [path, text, mode] of created) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { mode });
  }
  const files = created.map(([p]) => p);
  if (schema.copy) {
    await copyFile(PACKAGE_SCHEMA_FILE, schema.copy);
    files.push(schema.copy);
  }
  return files;
}

function specText(name: string, unit: string, schemaRef: string): string {
  return `# yaml-language-server: $schema=${schemaRef}
# ${name}: a systemd-sysext extension bound to the base release it is built for.
name: ${name}
metadata:
  displayName: ${name}
  version: "0.1.0"
  homeUrl: https://example.org/
  bugReportUrl: https://example.org/issues
base:
  binding: strict
architectures: [x86-64, arm64]
sources:
  # Files of the extension, laid out as they appear on the host (only usr/ and opt/ are merged).
  - type: directory
    path: ./root
  # The service unit, rendered from a template with {{ var }} substitution.
  - type: template
    template: ./units/${unit}.tmpl
    path: usr/lib/systemd/system/${unit}
  # Debian packages: .deb files named NAME_VERSION_ARCH.deb in \`dir\` (fetch them with apt-get download);
  # every Depends must be met by the base root's var/lib/dpkg/status or by the packages listed here.
  # - type: deb
  #   dir: ./debs
  #   versionFrom: my-agent          # its version becomes SYSEXT_VERSION_ID
  #   packages: [my-agent, libfoo1]
services:
  # Started through a multi-user.target drop-in with Upholds=, which works without daemon-reload.
  upholds: [${unit}]
image:
  format: squashfs
  compression: zstd
`;
}

function unitText(name: string): string {
  return `[Unit]
Description={{ displayName }} (sysext {{ name }} for {{ baseId }} {{ baseVersionId }})

[Service]
Type=simple
ExecStart=/usr/bin/${name}

[Install]
WantedBy=multi-user.target
`;
}
