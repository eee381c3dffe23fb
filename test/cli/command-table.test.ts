// The lazy command table (src/cli/commands/index.ts) against the full registration: top-level help lines, each
// command's own help, and the argv scan that picks which command main() loads in full.
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMANDS, invokedCommand } from "../../src/cli/commands/index.js";
import { topLevelHelp } from "../../src/cli/help-text.js";
import { createProgram } from "../../src/cli/main.js";
import { cli } from "../helpers/cli.js";

/** The command's line in the top-level help: commander's subcommand term and description. */
function helpLine(program: Command, cmd: Command): [string, string] {
  const help = program.createHelp();
  return [help.subcommandTerm(cmd), help.subcommandDescription(cmd)];
}

const named = (program: Command, name: string) => program.commands.find((c) => c.name() === name)!;

describe("command table", () => {
  it.each(COMMANDS.map((c) => c.name))(
    "%s: the module the entry loads registers that one command",
    async (name) => {
      const program = new Command();
      (await COMMANDS.find((c) => c.name === name)!.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
    },
  );

  it.each(COMMANDS.map((c) => c.name))(
    "%s: the stub's top-level help line is the full registration's",
    async (name) => {
      const full = await createProgram("all");
      const lazy = await createProgram([]);
      const stub = named(lazy, name);
      expect(stub.options).toEqual([]); // a stub really is one: no module loaded for it
      expect(helpLine(lazy, stub)).toEqual(helpLine(full, named(full, name)));
    },
  );

  it.each(COMMANDS.map((c) => c.name))(
    "%s: loaded on its own, its help is the full program's",
    async (name) => {
      const full = await createProgram("all");
      const one = await createProgram([name]);
      expect(named(one, name).options.length).toBeGreaterThan(0);
      for (const other of one.commands.filter((c) => c.name() !== name)) expect(other.options).toEqual([]);
      expect(named(one, name).helpInformation()).toBe(named(full, name).helpInformation());
    },
  );

  it("the top-level help of the lazy program is the full program's, at 80 and 120 columns", async () => {
    for (const width of [80, 120]) {
      const full = await createProgram("all");
      full.configureHelp({ ...full.configureHelp(), helpWidth: width });
      expect(await topLevelHelp(width)).toBe(full.helpInformation());
    }
  });
});

/**
 * The command commander itself dispatches `args` to in the full program (a subcommand, or the one `help NAME`
 * shows help for), stopping before any action runs; undefined for top-level help, errors and --version.
 */
async function commanderDispatch(args: readonly string[]): Promise<string | undefined> {
  const program = await createProgram("all");
  let dispatched: string | undefined;
  const silent = { writeOut: () => {}, writeErr: () => {} };
  program.configureOutput(silent);
  for (const cmd of program.commands) {
    cmd.configureOutput(silent);
    cmd.on("beforeHelp", () => (dispatched = cmd.name()));
  }
  program.hook("preSubcommand", (_p, sub) => {
    dispatched = sub.name();
    throw new Error("stop before the action");
  });
  await program.parseAsync(["node", "sysextkit", ...args]).catch(() => {});
  return dispatched;
}

describe("invokedCommand", () => {
  const cases: Array<[string[], string | undefined]> = [
    [[], undefined],
    [["--help"], undefined],
    [["-h"], undefined],
    [["--help", "build"], undefined],
    [["--json", "build"], undefined],
    [["-1", "build"], undefined],
    [["build"], "build"],
    [["build", "spec.yaml", "--json"], "build"],
    [["test", "build"], "test"],
    [["verify", "--help"], "verify"],
    [["--", "schema"], "schema"],
    [["help"], undefined],
    [["help", "feed"], "feed"],
    [["help", "--json", "feed"], undefined],
    [["help", "--", "feed"], "feed"],
    [["bogus"], "bogus"],
    [["help", "bogus"], "bogus"],
  ];

  it.each(cases)("%j -> %s, the command commander dispatches to", async (args, expected) => {
    expect(invokedCommand(args)).toBe(expected);
    const known = COMMANDS.some((c) => c.name === expected) ? expected : undefined;
    expect(await commanderDispatch(args)).toBe(known);
  });
});

describe("through bin/sysextkit.js", () => {
  it("a command's --help and `help NAME` print its full option help; usage errors list the commands", async () => {
    const build = await cli(["build", "--help"]);
    expect(build.exitCode).toBe(0);
    expect(build.stdout).toContain("--base <path>");
    expect(build.stdout).toContain("--sign-later");
    const verify = await cli(["help", "verify"]);
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toMatch(/^Usage: sysextkit verify \[options\] <path>/);
    const bogus = await cli(["buidl"]);
    expect(bogus.exitCode).toBe(2);
    expect(bogus.stderr).toContain("unknown command 'buidl'");
    expect(bogus.stderr).toContain("Did you mean build?");
  });
});
