// `sysextkit init NAME`: scaffold a new extension definition (spec, unit template, test build command).
import type { Command } from "commander";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SysextError } from "../../errors.js";
import { exists } from "../../util/fs.js";
import { printJson } from "../output.js";

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("scaffold a new extension definition")
    .argument("<name>", "extension name, e.g. oem-example")
    .option("--dir <dir>", "parent directory", "extensions")
    .option("--json", "print the created files as JSON")
    .action(async (name: string, flags: { dir: string; json?: boolean }) => {
      const files = await scaffoldExtension(name, flags.dir);
      if (flags.json) printJson({ name, files });
      else {
        process.stdout.write(
          `created ${files.join(", ")}\ntry it:\n  npx sysextkit build ${join(flags.dir, name, "extension.yaml")} --base /etc/os-release --out out\n`,
        );
      }
    });
}

/** Write extensions/<name>/{extension.yaml, root/..., units/<name>.service.tmpl}; refuses to overwrite. */
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
  const unit = `${name}.service`;
  const spec = `# yaml-language-server: $schema=../../schema/extension.schema.json
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
services:
  # Started through a multi-user.target drop-in with Upholds=, which works without daemon-reload.
  upholds: [${unit}]
image:
  format: squashfs
  compression: zstd
`;
  const unitText = `[Unit]
Description={{ displayName }} (sysext {{ name }} for {{ baseId }} {{ baseVersionId }})

[Service]
Type=simple
ExecStart=/usr/bin/${name}

[Install]
WantedBy=multi-user.target
`;
  const script = `#!/bin/sh
# ${name} placeholder tool shipped by the extension.
echo "${name} running"
`;
  const created: Array<[string, string, number]> = [
    [join(dir, "extension.yaml"), spec, 0o644],
    [join(dir, "units", `${unit}.tmpl`), unitText, 0o644],
    [join(dir, "root", "usr", "bin", name), script, 0o755],
  ];
  for (const [path, text, mode] of created) {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, text, { mode });
  }
  return created.map(([p]) => p);
}
