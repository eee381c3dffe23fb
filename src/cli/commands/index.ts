// The CLI's command table: what top-level help lists for each command, and how to load its full registration.
import type { Command } from "commander";

export interface CommandEntry {
  readonly name: string;
  /** What the top-level help prints after the name, e.g. "[options] [spec]" (commander's subcommand term). */
  readonly usage: string;
  /** The command's description as the top-level help shows it. */
  readonly summary: string;
  /** Imports the command's module (its options and action) and returns its register function. */
  readonly load: () => Promise<(program: Command) => void>;
}

// Order is the order of the top-level help. test/cli/command-table.test.ts checks every line against the full
// registration, so a changed description, argument or option set in a command file fails there until this follows.
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "build",
    usage: "[options] [spec]",
    summary: "build a sysext image for a base release",
    load: async () => (await import("./build.js")).registerBuild,
  },
  {
    name: "inspect",
    usage: "[options] <image>",
    summary: "show an image's format, extension-release and files",
    load: async () => (await import("./inspect.js")).registerInspect,
  },
  {
    name: "check",
    usage: "[options] <image>",
    summary:
      "decide whether a host's systemd-sysext would merge an image, judging its release file and content (exit 0 yes, 1 no)",
    load: async () => (await import("./check.js")).registerCheck,
  },
  {
    name: "init",
    usage: "[options] <name>",
    summary: "scaffold a new extension definition",
    load: async () => (await import("./init.js")).registerInit,
  },
  {
    name: "payload",
    usage: "[options] <image>",
    summary: "write the signed CrAU update payload <NAME>.gz of an image, with <NAME>.gz.sha256",
    load: async () => (await import("./payload.js")).registerPayload,
  },
  {
    name: "release",
    usage: "[options] [release-spec]",
    summary:
      "build every extension of a release with payloads and manifests (Omaha, Nebraska, SHA256SUMS, sysupdate)",
    load: async () => (await import("./release.js")).registerRelease,
  },
  {
    name: "feed",
    usage: "[options] <feed> [releases...]",
    summary: "add release directories to a systemd-sysupdate feed (the directory Source Path= points to)",
    load: async () => (await import("./feed.js")).registerFeed,
  },
  {
    name: "verify",
    usage: "[options] <path>",
    summary:
      "verify a payload (.gz), a release directory, a sysupdate feed or a DDI/verity image; exit 0 only when everything holds",
    load: async () => (await import("./verify.js")).registerVerify,
  },
  {
    name: "sign",
    usage: "[options] <image>",
    summary: "sign an image built with --sign-later: a signature made offline (--signature) or here (--key)",
    load: async () => (await import("./sign.js")).registerSign,
  },
  {
    name: "trust",
    usage: "[options]",
    summary: "write a verity.d certificate and a systemd-sysext drop-in that merges only signed extensions",
    load: async () => (await import("./trust.js")).registerTrust,
  },
  {
    name: "schema",
    usage: "[options] [which]",
    summary: "print the JSON Schema of extension.yaml (or of release.yaml) for editors",
    load: async () => (await import("./schema.js")).registerSchema,
  },
  {
    name: "test",
    usage: "[options] [images...]",
    summary: "boot a base with extension images under QEMU and check what systemd did with them",
    load: async () => (await import("./test.js")).registerTest,
  },
];

/**
 * The command commander will dispatch `args` (the arguments after the program name) to, if any: the first
 * operand, or for `help NAME` the second. It follows commander's parseOptions for a program whose only options
 * are -V/--version and the help flag: an unknown option (-h/--help included) makes commander pass everything
 * after it on unparsed, so no command is dispatched; "--" makes everything after it operands.
 */
export function invokedCommand(args: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-V" || arg === "--version") continue;
    if (arg.length > 1 && arg.startsWith("-")) break;
    operands.push(arg);
  }
  return operands[0] === "help" ? operands[1] : operands[0];
}
