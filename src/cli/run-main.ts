// Entry points of scripts and examples: run a main function and print failures the way the CLI does.
import { reportError, wantsStack } from "./output.js";

/**
 * Run `fn`; a thrown error is printed like the CLI prints it (message, location, hint; the stack only
 * with --verbose or DEBUG=sysextkit) and sets a non-zero exit code. `--json` in argv prints it as JSON.
 */
export async function runMain(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === "number") process.exitCode = code;
  } catch (e) {
    process.exitCode = reportError(e, process.argv.includes("--json"), wantsStack());
  }
}
