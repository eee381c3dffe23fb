#!/usr/bin/env node
// Entry point of the sysextkit command: the TypeScript sources through tsx in a checkout, else the compiled CLI.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
let mod;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  mod = await import(source.href);
} else {
  mod = await import(new URL("../dist/cli/main.js", import.meta.url).href);
}
process.exitCode = await mod.main(process.argv);
