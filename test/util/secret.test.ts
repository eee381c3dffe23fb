// util/secret: keys from a file, env:NAME, standard input or PEM text, named by their source and never echoed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  isInlinePem,
  readSecret,
  redactSecrets,
  resetStdinSecret,
  secretLabel,
} from "../../src/util/secret.js";
import { rejection } from "../helpers/errors.js";

const PEM = [
  "-----BEGIN PRIVATE KEY-----",
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
  "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
  "-----END PRIVATE KEY-----",
  "",
].join("\n");
const dir = mkdtempSync(join(tmpdir(), "secret-test-"));
const stream = (text: string) => Readable.from([Buffer.from(text)]);
/** Nothing of the key's content in a message, hint, location or JSON form of an error. */
const noKeyIn = (text: string) => {
  expect(text).not.toContain("PRIVATE KEY");
  expect(text).not.toContain("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj");
};

afterEach(() => resetStdinSecret());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readSecret", () => {
  it("reads a file and names it by its path", async () => {
    const f = join(dir, "key.pem");
    writeFileSync(f, PEM);
    const s = await readSecret(f, { what: "private key" });
    expect(s.data.toString()).toBe(PEM);
    expect(s.label).toBe(`file ${f}`);
    expect(s.file).toBe(f);
  });

  it("reads env:NAME, and refuses an unset or empty variable without printing anything of it", async () => {
    process.env.SYSEXTKIT_TEST_KEY = PEM;
    const s = await readSecret("env:SYSEXTKIT_TEST_KEY", { what: "private key" });
    expect(s.data.toString()).toBe(PEM);
    expect(s.label).toBe("environment variable SYSEXTKIT_TEST_KEY");
    expect(s.file).toBeUndefined();
    delete process.env.SYSEXTKIT_TEST_KEY;
    const e = await rejection(readSecret("env:SYSEXTKIT_TEST_KEY", { what: "private key" }), "KEY_INVALID");
    expect(e.message).toContain("environment variable SYSEXTKIT_TEST_KEY");
    process.env.SYSEXTKIT_TEST_EMPTY = "";
    await rejection(readSecret("env:SYSEXTKIT_TEST_EMPTY", { what: "key" }), "KEY_INVALID");
    await rejection(readSecret("env:not a name", { what: "key" }), "KEY_INVALID");
  });

  it("reads - from standard input once; a second - and an empty input are errors", async () => {
    const s = await readSecret("-", { what: "private key", stdin: stream(PEM) });
    expect(s.data.toString()).toBe(PEM);
    expect(s.label).toBe("standard input");
    const again = await rejection(readSecret("-", { what: "public key", stdin: stream(PEM) }), "USAGE");
    expect(again.message).toMatch(/only one secret can come from standard input/);
    resetStdinSecret();
    await rejection(readSecret("-", { what: "key", stdin: stream("") }), "KEY_INVALID");
  });

  it("takes PEM text given by value, labelled without its content", async () => {
    expect(isInlinePem(`  ${PEM}`)).toBe(true);
    const s = await readSecret(PEM, { what: "private key" });
    expect(s.data.toString()).toBe(PEM);
    expect(s.label).toBe("PEM text given by value");
    noKeyIn(secretLabel(PEM));
  });

  it("a missing file names the file and the fix, never content", async () => {
    const f = join(dir, "absent.pem");
    const e = await rejection(readSecret(f, { what: "private key", code: "KEY_INVALID" }), "KEY_INVALID");
    expect(e.message).toBe(`cannot read the private key from file ${f}: ENOENT`);
    expect(e.location).toEqual({ file: f });
    expect(e.hint).toMatch(/env:NAME/);
  });

  it("a passphrase or unarmoured base64 key given by value is never printed, not even as a file name", async () => {
    const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
    for (const [ref, opts] of [
      ["hunter2 correct horse", { what: "OpenPGP passphrase", hideRef: true }],
      [body, { what: "private key" }],
      [`${body}\n${body}`, { what: "private key" }],
    ] as const) {
      const e = await rejection(readSecret(ref, opts), "KEY_INVALID");
      const all = JSON.stringify({ m: e.message, h: e.hint, l: e.location, c: String(e.cause) });
      expect(all).not.toContain("hunter2");
      expect(all).not.toContain(body.slice(0, 20));
      expect(e.message).toMatch(
        /from a file whose name is not printed \(it may be the secret itself\): ENOENT$/,
      );
      expect(e.location).toBeUndefined();
    }
    expect(secretLabel("keys/real.pem")).toBe("file keys/real.pem");
    expect(secretLabel("keys/real.pem", true)).not.toContain("real.pem");
  });
});

describe("redactSecrets", () => {
  it("replaces whole and cut-off PEM blocks, keeps other text", () => {
    const out = redactSecrets(`before ${PEM} after`);
    expect(out).toBe("before [redacted PEM block]\n after");
    noKeyIn(out);
    const cut = redactSecrets(
      `x -----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj`,
    );
    expect(cut).toBe("x [redacted PEM block]");
    expect(redactSecrets("nothing secret here")).toBe("nothing secret here");
  });
});
