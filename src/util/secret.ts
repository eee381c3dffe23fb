// Secrets (private keys, certificates, passphrases) from a file, an environment variable or standard input; never echoed.
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { SysextError, type ErrorCode } from "../errors.js";

/**
 * How a secret is named on the command line or in the API, unambiguously:
 * - `env:NAME`   the value of environment variable NAME
 * - `-`          standard input (once per process: a second `-` is refused)
 * - `-----BEGIN` PEM text given by value (accepted, but prefer a file, env: or -)
 * - anything else: a file path
 */
export type SecretRef = string;

export interface Secret {
  /** Where it came from, safe to print: "file key.pem", "environment variable KEY", "standard input". */
  readonly label: string;
  /** A file path when it came from a file (for error locations), else undefined. */
  readonly file: string | undefined;
  readonly data: Buffer;
}

export interface ReadSecretOptions {
  /** What the secret is, for messages: "private key", "certificate", "OpenPGP secret key". */
  readonly what: string;
  /** Error code for an unreadable secret (default KEY_INVALID). */
  readonly code?: ErrorCode;
  /** Standard input to read `-` from (default process.stdin); tests pass their own stream. */
  readonly stdin?: Readable;
  /** Never print the reference, not even as a file name (passphrases: a value given by mistake is the secret). */
  readonly hideRef?: boolean;
}

let stdinTaken = false;

/** Whether a reference is PEM text given by value (it must then never be printed). */
export function isInlinePem(ref: SecretRef): boolean {
  return ref.trimStart().startsWith("-----BEGIN ");
}

/**
 * Whether a reference that is not PEM, env: or - still looks like key material given by value (base64
 * without its PEM armour, several lines): it is then read as a file name, but never printed as one.
 */
function looksLikeData(ref: SecretRef): boolean {
  return /[\r\n]/.test(ref) || (ref.length >= 64 && /^[A-Za-z0-9+/=]+$/.test(ref));
}

/**
 * A printable name for a reference that never contains the secret itself. `hidden` (passphrases, whose
 * reference may be the passphrase typed by mistake) never prints a file name either.
 */
export function secretLabel(ref: SecretRef, hidden = false): string {
  if (isInlinePem(ref)) return "PEM text given by value";
  if (ref === "-") return "standard input";
  if (ref.startsWith("env:")) return `environment variable ${ref.slice(4)}`;
  if (hidden || looksLikeData(ref)) return "a file whose name is not printed (it may be the secret itself)";
  return `file ${ref}`;
}

/** Read a secret named by `ref` (see SecretRef). Errors name the source, never the content. */
export async function readSecret(ref: SecretRef, options: ReadSecretOptions): Promise<Secret> {
  const code = options.code ?? "KEY_INVALID";
  const label = secretLabel(ref, options.hideRef);
  const printable = label === `file ${ref}`;
  if (isInlinePem(ref)) return { label, file: undefined, data: Buffer.from(ref) };
  if (ref.startsWith("env:")) {
    const name = ref.slice(4);
    const value = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? process.env[name] : undefined;
    if (value === undefined || value === "") {
      throw new SysextError(
        code,
        `the ${options.what} was to come from ${label}, which is not set or empty`,
        {
          hint: `export ${name || "NAME"} with the PEM text, or pass a file path or - (standard input)`,
        },
      );
    }
    return { label, file: undefined, data: Buffer.from(value) };
  }
  if (ref === "-") {
    if (stdinTaken) {
      throw new SysextError(
        "USAGE",
        `only one secret can come from standard input (-), ${options.what} asked again`,
        {
          hint: "pass the others as files or env:NAME",
        },
      );
    }
    stdinTaken = true;
    const data = await readAll(options.stdin ?? process.stdin);
    if (data.length === 0) {
      throw new SysextError(code, `the ${options.what} was to come from standard input, which was empty`, {
        hint: "pipe the PEM text into the command, e.g. sysextkit ... --key - < key.pem",
      });
    }
    return { label, file: undefined, data };
  }
  try {
    return { label, file: printable ? ref : undefined, data: await readFile(ref) };
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? "error";
    throw new SysextError(code, `cannot read the ${options.what} from ${label}: ${errno}`, {
      ...(printable ? { location: { file: ref }, cause: scrubCause(e) } : {}),
      hint: printable
        ? "pass the path of an existing PEM file, env:NAME, or - for standard input"
        : "secrets are read from a file path, env:NAME or - (standard input), never given as values on the command line",
    });
  }
}

/** Allow `-` again (tests that read several secrets from fresh streams). */
export function resetStdinSecret(): void {
  stdinTaken = false;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;

/** Replace PEM blocks in a text by a marker: the last guard before anything is printed. */
export function redactSecrets(text: string): string {
  return text.replace(PEM_BLOCK, "[redacted PEM block]");
}

/** An error cause with PEM text removed from its message (causes are printed with --verbose). */
function scrubCause(e: unknown): unknown {
  if (!(e instanceof Error) || !e.message.includes("-----BEGIN ")) return e;
  const copy = new Error(redactSecrets(e.message));
  copy.name = e.name;
  return copy;
}
