// Signed DDIs on a booted Debian 13 guest (its own kernel, dm-verity, systemd 257) with `sysextkit trust` material.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../scripts/roots.js";
import { bootTest } from "../../src/boot/boot-test.js";
import type { BootReport } from "../../src/boot/report-schema.js";
import type { BuildResult } from "../../src/build.js";
import type { GuestFile } from "../../src/boot/inject.js";
import { renderSysextPolicyDropIn, STRICT_SYSEXT_POLICY, writeTrust } from "../../src/release/trust.js";
import { needBoot, oneGuestAtATime } from "../helpers/boot.js";
import { needTools } from "../helpers/tools.js";
import { buildFromDir, makeKeys, scratch, type Keys } from "../image/ddi/helpers.js";

await needBoot();
await needTools("mkfs.erofs", "openssl", "veritysetup");
/** What the guest runs after the boot; every command ends with exit 0 so its output is the evidence. */
const RUN = {
  config: "grep -h DM_VERITY /boot/config-*; systemctl cat systemd-sysext.service | grep ^ExecStart=; true",
  table: "dmsetup table --target verity; true",
  status: "for d in $(dmsetup ls --target verity | cut -f1); do veritysetup status $d; done; true",
  good: "/usr/bin/hello-ddi; md5sum /usr/share/hello-ddi/data.bin; echo rc=$?",
  flipped: "md5sum /usr/share/hello-flip/data.bin; echo rc=$?",
  dmesg: "dmesg | grep -i -E 'verity|device-mapper'; true",
} as const;
const RUNS = Object.values(RUN);

let dir: string;
let root: string;
let keys: Keys;
/** The signed image's data (random, so erofs stores it as is and the flipped byte can be found). */
let blob: Buffer;
const images: Record<string, BuildResult> = {};
const trust: GuestFile[] = [];

async function tree(name: string, data: Buffer): Promise<string> {
  const t = join(dir, `tree-${name}`);
  await mkdir(join(t, "usr/bin"), { recursive: true });
  await mkdir(join(t, `usr/share/${name}`), { recursive: true });
  await writeFile(join(t, `usr/bin/${name}`), `#!/bin/sh\necho "hello from a signed DDI (${name})"\n`, {
    mode: 0o755,
  });
  await writeFile(join(t, `usr/share/${name}/data.bin`), data);
  return t;
}

async function build(
  out: string,
  name: string,
  data: Buffer,
  signing: { key: string; certificate: string } | undefined,
): Promise<BuildResult> {
  return buildFromDir({
    name,
    tree: await tree(name, data),
    base: root,
    outDir: join(dir, out),
    format: "ddi",
    ...(signing ? { signing } : {}),
  });
}

async function boot(images: readonly string[], files: readonly GuestFile[]): Promise<BootReport> {
  return oneGuestAtATime(() =>
    bootTest({
      images,
      base: root,
      files,
      run: RUNS,
      // Two cores shared with whatever else runs, under TCG: generous.
      timeoutMs: 1_500_000,
      onProgress: (m) => process.stderr.write(`ddi boot: ${m}\n`),
    }),
  );
}

function out(r: BootReport, key: keyof typeof RUN): string {
  return r.runs[RUNS.indexOf(RUN[key])]?.output ?? "";
}

/** Everything the guest said, for failure messages. */
function said(r: BootReport): string {
  return [
    `merged: ${r.sysext.merged.join(", ")}`,
    ...r.sysext.journal.slice(-40),
    ...r.runs.map((x) => `$ ${x.command}\n${x.output}`),
    ...r.console.tail.slice(-15),
  ].join("\n");
}

describe("signed DDIs on a booted Debian 13 guest requiring signatures", () => {
  beforeAll(async () => {
    dir = await scratch("sysextkit-ddi-boot-");
    root = await ensureRoot("trixie-boot");
    keys = await makeKeys(join(dir, "keys"));
    // Random data: incompressible, so erofs stores it verbatim and the test can find it.
    blob = Buffer.concat(Array.from({ length: 64 }, () => randomBytes(4096)));
    const signer = { key: keys.key, certificate: keys.cert };
    images.signed = await build("signed", "hello-ddi", blob, signer);
    images.flipped = await build("flipped", "hello-flip", blob, signer);
    images.other = await build("other", "hello-ddi", blob, {
      key: keys.otherKey,
      certificate: keys.otherCert,
    });
    images.unsigned = await build("unsigned", "hello-ddi", blob, undefined);
    // One bit of the file's data flipped, well inside the file (not in any metadata block).
    const raw = await readFile(images.flipped.image);
    const at = raw.indexOf(blob.subarray(100_000, 100_064));
    expect(at, "the file's data is stored verbatim in the erofs partition").toBeGreaterThan(0);
    expect(raw.indexOf(blob.subarray(100_000, 100_064), at + 1)).toBe(-1);
    raw[at + 10] = raw[at + 10]! ^ 0x01;
    await writeFile(images.flipped.image, raw);
    // What a base image that requires signed extensions carries: `sysextkit trust` output.
    const t = await writeTrust({ certificate: keys.cert, outDir: join(dir, "trust") });
    expect(t.policy).toBe("root=signed+absent:usr=signed+absent");
    for (const rel of t.files) trust.push({ target: `/${rel}`, source: join(dir, "trust", rel) });
  }, 900_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("trusted signature: merged by systemd-sysext at boot with dm-verity active; a flipped data byte fails on read", async () => {
    const r = await boot([images.signed!.image, images.flipped!.image], trust);
    const all = said(r);
    expect(r.outcome, all).toBe("completed");
    expect(r.os).toMatchObject({ id: "debian", versionId: "13" });
    // The guest's kernel can check signatures in the kernel; the drop-in's policy is what systemd runs.
    expect(out(r, "config")).toMatch(/CONFIG_DM_VERITY_VERIFY_ROOTHASH_SIG=y/);
    expect(out(r, "config")).toContain(`--image-policy=${STRICT_SYSEXT_POLICY}`);
    expect(r.sysext.merged.sort(), all).toEqual(["hello-ddi", "hello-flip"]);
    // dm-verity is really active, with the root hashes we computed, SHA-256 and 4 KiB blocks.
    const table = out(r, "table");
    for (const img of [images.signed!, images.flipped!]) {
      const hash = img.verity!.rootHash;
      expect(table, all).toMatch(
        new RegExp(`: 0 \\d+ verity 1 \\S+ \\S+ 4096 4096 \\d+ 1 sha256 ${hash} [0-9a-f]{64}`),
      );
    }
    expect(out(r, "status"), all).toMatch(/status:\s+verified/);
    // The signature was checked: the kernel keyring does not hold our certificate, systemd's verity.d does.
    const journal = r.sysext.journal.join("\n");
    expect(journal, all).toMatch(
      /Validation of dm-verity signature failed via the kernel, trying userspace validation instead/,
    );
    expect(journal, all).toMatch(/Using extensions 'hello-ddi\.raw', 'hello-flip\.raw'/);
    // The good image's file reads back whole; the flipped one is merged but its block is refused on read.
    const md5 = (await import("node:crypto")).createHash("md5").update(blob).digest("hex");
    expect(out(r, "good"), all).toContain("hello from a signed DDI (hello-ddi)");
    expect(out(r, "good"), all).toContain(`${md5}  /usr/share/hello-ddi/data.bin`);
    expect(out(r, "flipped"), all).toMatch(/Input\/output error/);
    expect(out(r, "flipped"), all).not.toContain(md5);
    expect(out(r, "dmesg"), all).toMatch(/verity: \S+: data block \d+ is corrupted/);
    process.stderr.write(
      `ddi boot (trusted): ${out(r, "table")}${out(r, "status")}${out(r, "flipped")}failed checks: ${r.checks
        .filter((c) => !c.ok)
        .map((c) => c.message)
        .join(" | ")}\n`,
    );
  }, 1_800_000);

  const refused: Array<[string, "other" | "unsigned", RegExp]> = [
    [
      "signed by another key",
      "other",
      /Userspace PKCS#7 validation failed|signer certificate not found|worked neither via the kernel nor in userspace/,
    ],
    ["unsigned", "unsigned", /policy 'verity' but 'signed\+absent' was required/],
  ];
  it.for(refused)(
    "%s: refused under the strict policy, and the guest says why",
    { timeout: 1_800_000 },
    async ([, which, why]) => {
      const r = await boot([images[which]!.image], trust);
      const all = said(r);
      expect(r.outcome, all).toBe("completed");
      expect(r.sysext.merged, all).toEqual([]);
      expect(r.extensions[0]!.merged).toBe(false);
      expect(r.sysext.journal.join("\n"), all).toMatch(why);
      expect(out(r, "table"), all).not.toMatch(/verity/);
      expect(out(r, "good")).toMatch(/No such file or directory/);
      process.stderr.write(
        `ddi boot (${which}): ${r.sysext.journal.filter((l) => why.test(l)).join(" | ")}\n`,
      );
    },
  );

  it("unsigned under the lax policy verity+signed+absent: merged without dm-verity at all (why trust writes signed+absent)", async () => {
    const lax = join(dir, "lax.conf");
    await writeFile(
      lax,
      renderSysextPolicyDropIn("root=verity+signed+absent:usr=verity+signed+absent").replace(/\n?$/, "\n"),
    );
    const files = trust.map((f) =>
      "source" in f && f.target.endsWith(".conf") ? { target: f.target, source: lax } : f,
    );
    const r = await boot([images.unsigned!.image], files);
    const all = said(r);
    expect(r.outcome, all).toBe("completed");
    expect(out(r, "config")).toContain("--image-policy=root=verity+signed+absent");
    expect(r.sysext.merged, all).toEqual(["hello-ddi"]);
    // No NAME.roothash next to it and no signature: systemd mounts the root partition as it is.
    expect(out(r, "table"), all).not.toMatch(/verity/);
    expect(r.sysext.journal.join("\n"), all).toMatch(
      /Mounting \/proc\/self\/fd\/\d+ \(erofs\) on \/run\/systemd\/sysext\/extensions\/hello-ddi/,
    );
    expect(out(r, "good"), all).toContain("hello from a signed DDI (hello-ddi)");
  }, 1_800_000);
});
