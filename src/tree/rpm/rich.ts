// Rich (boolean) RPM dependencies: "(a >= 1 or b)", "(a if b else c)", parsed into a tree and evaluated.
import { SysextError } from "../../errors.js";
import { operatorSense } from "./vercmp.js";

export type RichExpr =
  | { readonly op: "dep"; readonly name: string; readonly flags: number; readonly evr: string }
  | { readonly op: "and" | "or" | "with" | "without"; readonly args: readonly RichExpr[] }
  | {
      readonly op: "if" | "unless";
      readonly then: RichExpr;
      readonly cond: RichExpr;
      readonly else?: RichExpr;
    };

const OPS = new Set(["and", "or", "if", "unless", "else", "with", "without"]);
const COMPARE = new Set(["<", "<=", "=", ">=", ">", "=="]);

function tokenize(text: string): string[] {
  return text
    .replace(/([()])/g, " $1 ")
    .trim()
    .split(/\s+/);
}

/** Parse a rich dependency (it starts with "("); throws PACKAGE_INVALID naming the text when malformed. */
export function parseRich(text: string, where: string): RichExpr {
  const tokens = tokenize(text);
  let i = 0;
  const fail = (why: string) =>
    new SysextError(
      "PACKAGE_INVALID",
      `cannot parse rich dependency ${JSON.stringify(text)} of ${where}: ${why}`,
      {
        hint: "the package metadata is corrupt; rebuild it with rpmbuild",
      },
    );
  const group = (): RichExpr => {
    if (tokens[i] !== "(") throw fail("expected '('");
    i++;
    const first = term();
    let expr: RichExpr = first;
    const op = tokens[i];
    if (op === "and" || op === "or" || op === "with" || op === "without") {
      const args = [first];
      while (tokens[i] === op) {
        i++;
        args.push(term());
      }
      expr = { op, args };
    } else if (op === "if" || op === "unless") {
      i++;
      const cond = term();
      let otherwise: RichExpr | undefined;
      if (tokens[i] === "else") {
        i++;
        otherwise = term();
      }
      expr = { op, then: first, cond, ...(otherwise ? { else: otherwise } : {}) };
    } else if (op !== ")") throw fail(`unexpected ${JSON.stringify(op ?? "end")}`);
    if (tokens[i] !== ")") throw fail(`expected ')' but found ${JSON.stringify(tokens[i] ?? "the end")}`);
    i++;
    return expr;
  };
  const term = (): RichExpr => {
    if (tokens[i] === "(") return group();
    const name = tokens[i];
    if (name === undefined || name === ")" || OPS.has(name))
      throw fail(`expected a package name at ${JSON.stringify(name ?? "the end")}`);
    i++;
    if (tokens[i] !== undefined && COMPARE.has(tokens[i]!)) {
      const op = tokens[i]!;
      const evr = tokens[i + 1];
      if (evr === undefined || evr === ")" || OPS.has(evr)) throw fail(`${name} ${op} has no version`);
      i += 2;
      return { op: "dep", name, flags: operatorSense(op === "==" ? "=" : op), evr };
    }
    return { op: "dep", name, flags: 0, evr: "" };
  };
  const expr = group();
  if (i !== tokens.length) throw fail("text after the closing ')'");
  return expr;
}

/** Evaluate with `leaf` deciding simple dependencies. */
export function evalRich(e: RichExpr, leaf: (name: string, flags: number, evr: string) => boolean): boolean {
  switch (e.op) {
    case "dep":
      return leaf(e.name, e.flags, e.evr);
    case "and":
    case "with":
      return e.args.every((a) => evalRich(a, leaf));
    case "or":
      return e.args.some((a) => evalRich(a, leaf));
    case "without":
      return evalRich(e.args[0]!, leaf) && !e.args.slice(1).some((a) => evalRich(a, leaf));
    case "if":
      return evalRich(e.cond, leaf) ? evalRich(e.then, leaf) : e.else ? evalRich(e.else, leaf) : true;
    case "unless":
      return !evalRich(e.cond, leaf) ? evalRich(e.then, leaf) : e.else ? evalRich(e.else, leaf) : true;
  }
}
