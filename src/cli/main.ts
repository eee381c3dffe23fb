// The sysextkit command line: parse arguments, call the library, print, map errors to exit codes.
// Start-up stays fast: command files only declare options; each action imports the library code it needs.
import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { registerBuild } from "./commands/build.js";
import { registerCheck } from "./commands/check.js";
import { registerFeed } from "./commands/feed.js";
import { registerInit } from "./commands/init.js";
import { registerInspect } from "./commands/inspect.js";
import { registerPayload } from "./commands/payload.js";
import { registerRelease } from "./commands/release.js";
import { registerVerify } from "./commands/verify.js";
import { registerSchema } from "./commands/schema.js";
import { registerSign } from "./commands/sign.js";
import { registerTrust } from "./commands/trust.js";
import { registerTest } from "./commands/test.js";
import { printJson, reportError, wantsStack } from "./output.js";
import { redactSecrets } from "../util/secret.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export function createProgram(): Command {
  const program = new Command();
  program
    .name("sysextkit")
    .description("Build systemd-sysext images bound to a base OS release, with update payloads and manifests")
    .version(version())
    .showHelpAfterError("(run with --help for usage)")
    // An argument holding key material (a PEM given by value in the wrong place) is never echoed.
    .configureOutput({ writeErr: (s) => process.stderr.write(redactSecrets(s)) })
    .exitOverride();
  for (const register of [
    registerBuild,
    registerInspect,
    registerCheck,
    registerInit,
    registerPayload,
    registerRelease,
    registerFeed,
    registerVerify,
    registerSign,
    registerTrust,
    registerSchema,
    registerTest,
  ]) {
    register(program);
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const program = createProgram();
  const json = argv.includes("--json");
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0)
        return 0;
      // commander has printed its message on stderr; --json callers also get it as a JSON error object.
      if (json) {
        const message = redactSecrets(e.message.replace(/^error: /, ""));
        printJson({ error: { code: "USAGE", message, hint: "run with --help for usage" } });
      }
      return 2;
    }
    return reportError(e, json, wantsStack(argv));
  }
}
