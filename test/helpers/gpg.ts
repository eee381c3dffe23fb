// Test harness: OpenPGP keys made by the real gpg (an implementation independent of ours), and gpg --verify.
import { execa } from "execa";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface TestGpgKey {
  /** Armored secret key file. */
  readonly secret: string;
  /** Binary public key file (gpg --export). */
  readonly public: string;
  readonly fingerprint: string;
  readonly passphrase?: string;
}

/** Make a key with gpg in its own home under `dir` (the agent is stopped afterwards). */
export async function makeGpgKey(
  dir: string,
  name: string,
  options: { algo?: string; passphrase?: string } = {},
): Promise<TestGpgKey> {
  const home = join(dir, `gpghome-${name}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const gpg = (args: string[], input?: string) =>
    execa("gpg", ["--homedir", home, "--batch", "--pinentry-mode", "loopback", ...args], {
      ...(input === undefined ? {} : { input }),
    });
  try {
    await gpg([
      "--passphrase",
      options.passphrase ?? "",
      "--quick-gen-key",
      `${name} <${name}@example.org>`,
      options.algo ?? "ed25519",
      "sign",
      "never",
    ]);
    const fpr = /^fpr:+([0-9A-F]+):/m.exec((await gpg(["--with-colons", "--list-secret-keys"])).stdout)![1]!;
    const secret = join(dir, `${name}.sec.asc`);
    const pub = join(dir, `${name}.pub.gpg`);
    const sec = await gpg(["--passphrase", options.passphrase ?? "", "--armor", "--export-secret-keys", fpr]);
    await writeFile(secret, `${sec.stdout}\n`);
    // --output, not stdout: execa strips a final 0x0a, which a binary key may well end with.
    await execa("gpg", ["--homedir", home, "--batch", "--output", pub, "--export", fpr]);
    return {
      secret,
      public: pub,
      fingerprint: fpr,
      ...(options.passphrase ? { passphrase: options.passphrase } : {}),
    };
  } finally {
    await execa("gpgconf", ["--homedir", home, "--kill", "all"], { reject: false });
  }
}

/** `gpg --verify` as systemd-pull runs it (--no-default-keyring --keyring=KEYRING --trust-model=always). */
export async function gpgVerify(
  dir: string,
  keyring: string,
  signature: string,
  data: string,
): Promise<{ exitCode: number; output: string }> {
  const home = join(dir, `gpgverify-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  try {
    const r = await execa(
      "gpg",
      [
        "--homedir",
        home,
        "--no-options",
        "--no-default-keyring",
        "--no-auto-key-locate",
        "--no-auto-check-trustdb",
        "--batch",
        "--trust-model=always",
        `--keyring=${keyring}`,
        "--verify",
        signature,
        data,
      ],
      { reject: false, all: true },
    );
    return { exitCode: r.exitCode ?? -1, output: String(r.all) };
  } finally {
    await execa("gpgconf", ["--homedir", home, "--kill", "all"], { reject: false });
  }
}
