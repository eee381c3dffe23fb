// Entry points of scripts and examples: run a main function and print failures the way the CLI does.
import { reportError } from "./output.js";

/** Run `fn`; a thrown error is printed like the CLI prints it and sets a non-zero exit code. */
export async function runMain(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === "number") process.exitCode = code;
  } catch (e) {
    process.exitCode = reportError(e, false);
  }
}
