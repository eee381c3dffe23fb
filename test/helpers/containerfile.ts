// Test helper: read a Containerfile (FROM, ARG, ENV, WORKDIR, RUN, ENTRYPOINT, CMD) to run its steps locally.
import { readFile } from "node:fs/promises";

export interface Containerfile {
  readonly from: string;
  /** ARG defaults, ENV values and RUN lines in file order. */
  readonly steps: ReadonlyArray<
    | { kind: "run"; command: string }
    | { kind: "arg" | "env"; name: string; value: string }
    | { kind: "workdir"; dir: string }
  >;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
}

export async function readContainerfile(file: string): Promise<Containerfile> {
  const text = (await readFile(file, "utf8")).replace(/\\\n/g, " ");
  let from = "";
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const steps: Array<Containerfile["steps"][number]> = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot read Containerfile line: ${line}`);
    const [, op, rest] = m as unknown as [string, string, string];
    switch (op.toUpperCase()) {
      case "FROM":
        from = rest;
        break;
      case "RUN":
        steps.push({ kind: "run", command: rest.replace(/\s+/g, " ") });
        break;
      case "ARG":
      case "ENV": {
        const [name, value = ""] = rest.split("=", 2) as [string, string?];
        steps.push({ kind: op.toLowerCase() as "arg" | "env", name, value });
        break;
      }
      case "WORKDIR":
        steps.push({ kind: "workdir", dir: rest });
        break;
      case "ENTRYPOINT":
        entrypoint = JSON.parse(rest) as string[];
        break;
      case "CMD":
        cmd = JSON.parse(rest) as string[];
        break;
      default:
        throw new Error(`the local runner does not handle ${op}`);
    }
  }
  return { from, steps, entrypoint, cmd };
}
