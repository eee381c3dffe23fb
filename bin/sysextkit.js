#!/usr/bin/env node
// Entry point of the sysextkit command: the compiled CLI (dist/) when installed; in a git checkout the
// TypeScript sources through tsx (a devDependency), falling back to dist/ when tsx is not installed.
import { existsSync, readFileSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
const compiled = new URL("../dist/cli/main.js", import.meta.url);

// `sysextkit --version` and, installed, `sysextkit --help` answer before any module loads (start-up time, see
// bench/startup.ts). The help is the text `npm run build` wrote from the real program (dist/cli/help.txt, 80
// columns, as commander prints it when stdout is not a terminal); a terminal narrower than that, a checkout (src/
// may have changed since the build) or a missing file take the normal path.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}
if (
  args.length === 1 &&
  (args[0] === "--help" || args[0] === "-h") &&
  !(process.stdout.isTTY && process.stdout.columns < 80) &&
  !existsSync(source)
) {
  let help;
  try {
    help = readFileSync(new URL("../dist/cli/help.txt", import.meta.url));
  } catch (e) {
    if (e?.code !== "ENOENT") throw e;
  }
  if (help) {
    process.stdout.write(help);
    process.exit(0);
  }
}

async function load() {
  if (existsSync(source)) {
    let register;
    try {
      ({ register } = await import("tsx/esm/api"));
    } catch (e) {
      if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
    }
    if (register) {
      register();
      return import(source.href);
    }
    if (!existsSync(compiled)) {
      process.stderr.write(
        "sysextkit: error: this checkout has neither tsx (run: npm ci) nor a compiled dist/ (run: npm run build)\n",
      );
      process.exit(1);
    }
  }
  return import(compiled.href);
}

const mod = await load();
process.exitCode = await mod.main(process.argv);
