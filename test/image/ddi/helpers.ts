// Test helpers for DDIs: keys and certificates made with openssl, small extension builds, tools run in cached roots.
import { execa } from "execa";
import { copyFile, cp, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { buildExtension, type BuildOptions, type BuildResult } from "../../../src/build.js";
import { specFromObject } from "../../../src/spec/load.js";

export interface Keys {
  readonly key: string;
  readonly cert: string;
  readonly otherKey: string;
  readonly otherCert: string;
  readonly ecKey: string;
  readonly ecCert: string;
  readonly expiredKey: string;
  readonly expiredCert: string;
  /** `key` encrypted with PASSPHRASE. */
  readonly encryptedKey: string;
}

export const PASSPHRASE = "correct horse battery staple";

/** A self-signed certificate and its unencrypted key, made by openssl req: `<dir>/<stem>.key`, `.crt`. */
export async function selfSigned(
  dir: string,
  stem: string,
  cn: string,
  alg: string[],
): Promise<[string, string]> {
  const key = join(dir, `${stem}.key`);
  const cert = join(dir, `${stem}.crt`);
  await execa("openssl", [
    "req",
    "-x509",
    "-newkey",
    ...alg,
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "3650",
    "-subj",
    `/CN=${cn}`,
  ]);
  return [key, cert];
}

/** Keys and certificates made by openssl (an independent tool), including an expired and an encrypted one. */
export async function makeKeys(dir: string): Promise<Keys> {
  await mkdir(dir, { recursive: true });
  const [key, cert] = await selfSigned(dir, "signer", "sysextkit test signer", ["rsa:2048"]);
  const [otherKey, otherCert] = await selfSigned(dir, "other", "some other signer", ["rsa:2048"]);
  const [ecKey, ecCert] = await selfSigned(dir, "ec", "sysextkit ec signer", [
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
  ]);
  // An expired certificate: openssl ca takes explicit start and end dates.
  const ca = join(dir, "ca");
  await mkdir(ca, { recursive: true });
  await writeFile(join(ca, "index.txt"), "");
  await writeFile(join(ca, "serial"), "01\n");
  await writeFile(
    join(ca, "ca.cnf"),
    "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nserial = serial\nnew_certs_dir = .\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n",
  );
  const expiredKey = join(dir, "expired.key");
  const expiredCert = join(dir, "expired.crt");
  await execa("openssl", [
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    expiredKey,
    "-out",
    join(ca, "x.csr"),
    "-subj",
    "/CN=expired signer",
  ]);
  await execa(
    "openssl",
    [
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-selfsign",
      "-keyfile",
      expiredKey,
      "-in",
      "x.csr",
      "-out",
      expiredCert,
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200201000000Z",
      "-notext",
    ],
    { cwd: ca },
  );
  const encryptedKey = join(dir, "encrypted.key");
  await execa("openssl", [
    "pkey",
    "-in",
    key,
    "-aes256",
    "-passout",
    `pass:${PASSPHRASE}`,
    "-out",
    encryptedKey,
  ]);
  return { key, cert, otherKey, otherCert, ecKey, ecCert, expiredKey, expiredCert, encryptedKey };
}

/** A small extension tree on disk: a script, a binary-ish file (300 KiB by default), a text file. */
export async function makeTree(
  dir: string,
  name: string,
  seed = "a",
  blobSize = 300 * 1024,
): Promise<string> {
  const root = join(dir, `tree-${name}-${seed}`);
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await mkdir(join(root, `usr/share/${name}`), { recursive: true });
  await writeFile(join(root, `usr/bin/${name}`), `#!/bin/sh\necho "hello from ${name} (${seed})"\n`, {
    mode: 0o755,
  });
  const blob = Buffer.alloc(blobSize);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 2654435761 + seed.charCodeAt(0)) >>> 24;
  await writeFile(join(root, `usr/share/${name}/data.bin`), blob);
  await writeFile(
    join(root, `usr/share/${name}/numbers.txt`),
    Array.from({ length: 20000 }, (_, i) => `${i}\n`).join(""),
  );
  return root;
}

export const BASE = { ID: "debian", VERSION_ID: "13" } as const;

/** os-release of the base the test images are built for. */
export async function makeBase(dir: string): Promise<string> {
  const f = join(dir, "os-release");
  await writeFile(f, `ID=${BASE.ID}\nVERSION_ID=${BASE.VERSION_ID}\n`);
  return f;
}

/** Build `name` from a directory with the library, as `sysextkit build --name --dir` does. */
export async function buildFromDir(
  o: { name: string; tree: string; base: string; outDir: string } & Partial<BuildOptions>,
): Promise<BuildResult> {
  const { name, tree, base, ...rest } = o;
  return buildExtension({
    spec: specFromObject({ name, sources: [{ type: "directory", path: tree }] }),
    base: { path: base, arch: "x86-64" },
    epoch: 1_700_000_000,
    ...rest,
  });
}

export interface RootRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run `script` with sh inside a cached debootstrap root (chroot, in a private mount namespace with /dev,
 * /proc, /sys and a fresh /run), after copying `files` (files or directories) into a scratch directory that
 * is the working directory; `keep` may copy results out of it before it is removed.
 */
export async function runInRoot(
  root: string,
  files: readonly string[],
  script: string,
  keep?: (workDir: string) => Promise<void>,
): Promise<RootRun> {
  const rel = `tmp/sysextkit-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const work = join(root, rel);
  await mkdir(work, { recursive: true });
  try {
    for (const f of files) {
      if ((await stat(f)).isDirectory())
        await cp(f, join(work, basename(f)), { recursive: true, verbatimSymlinks: true });
      else await copyFile(f, join(work, basename(f)));
    }
    const outer = [
      "set -e",
      'mount --bind "$R" "$R"',
      'mount --rbind /dev "$R/dev"',
      'mount -t proc proc "$R/proc"',
      'mount -t sysfs sys "$R/sys"',
      'mount -t tmpfs tmpfs "$R/run"',
      'exec chroot "$R" /bin/sh -c "cd /$W && $S"',
    ].join("\n");
    const r = await execa("unshare", ["-m", "--propagation", "private", "sh", "-c", outer], {
      env: { R: root, W: rel, S: script, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      extendEnv: false,
      reject: false,
    });
    if (keep) await keep(work);
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function scratch(prefix: string): Promise<string> {
  const { tmpdir } = await import("node:os");
  return mkdtemp(join(tmpdir(), prefix));
}

/** Flip one bit of `file` at `offset`. */
export async function flipByte(file: string, offset: number): Promise<void> {
  const { open } = await import("node:fs/promises");
  const fh = await open(file, "r+");
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0x01;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/**
 * Sign NAME.roothash offline the way an HSM user would with openssl (`smime -sign -binary -noattr`, DER), as
 * systemd-repart's PKCS7_sign flags do; `extra` replaces -noattr.
 */
export async function opensslSign(
  roothash: string,
  key: string,
  cert: string,
  out: string,
  extra: string[] = ["-noattr"],
): Promise<string> {
  await execa("openssl", [
    "smime",
    "-sign",
    "-binary",
    ...extra,
    "-in",
    roothash,
    "-signer",
    cert,
    "-inkey",
    key,
    "-outform",
    "DER",
    "-out",
    out,
  ]);
  return out;
}
