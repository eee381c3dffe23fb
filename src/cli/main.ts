// The sysextkit command line: parse arguments, call the library, print, map errors to exit codes.
// Start-up stays fast: only the invoked command's module loads (commands/index.ts), and its action imports the library.
import { Command, CommanderError, Help } from "commander";
import { readFileSync } from "node:fs";
import { COMMANDS, invokedCommand } from "./commands/index.js";
import { printJson, reportError, wantsStack } from "./output.js";
import { redactSecrets } from "../util/secret.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The sysextkit program. Commands named in `full` (or all, for "all") are registered from their modules with
 * their options and action; every other one is a stub from the command table that only lists itself in the
 * top-level help, so `sysextkit --help` and usage errors load none of the command modules.
 */
export async function createProgram(full: readonly string[] | "all" = "all"): Promise<Command> {
  const program = new Command();
  const stubs = new WeakSet<Command>();
  program
    .name("sysextkit")
    .description("Build systemd-sysext images bound to a base OS release, with update payloads and manifests")
    .version(version())
    .showHelpAfterError("(run with --help for usage)")
    // An argument holding key material (a PEM given by value in the wrong place) is never echoed.
    .configureOutput({ writeErr: (s) => process.stderr.write(redactSecrets(s)) })
    // A stub has no options or arguments: the top-level help shows the table's usage for it.
    .configureHelp({
      subcommandTerm(this: Help, cmd: Command) {
        return stubs.has(cmd)
          ? `${cmd.name()} ${cmd.usage()}`
          : Help.prototype.subcommandTerm.call(this, cmd);
      },
    })
    .exitOverride();
  for (const entry of COMMANDS) {
    if (full === "all" || full.includes(entry.name)) (await entry.load())(program);
    else stubs.add(program.command(entry.name).usage(entry.usage).description(entry.summary));
  }
  // main() registers the invoked command in full; reaching a stub would parse its options as unknown.
  program.hook("preSubcommand", (_program, sub) => {
    if (stubs.has(sub)) throw new Error(`internal error: command ${sub.name()} was not loaded`);
  });
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
  const invoked = invokedCommand(args);
  const program = await createProgram(invoked === undefined ? [] : [invoked]);
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
