// Trust material (verity.d certificate + strict sysext policy drop-in) and image policies, checked with systemd 262's tools.
import { execa } from "execa";
import { writeFileSync } from "node:fs";
import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../scripts/roots.js";
import { SysextError } from "../../src/errors.js";
import { evaluatePolicy, parseImagePolicy, PROTECTION_FLAGS } from "../../src/release/image-policy.js";
import { renderSysextPolicyDropIn, STRICT_SYSEXT_POLICY, writeTrust } from "../../src/release/trust.js";
import { makeKeys, runInRoot, scratch, type Keys } from "../image/ddi/helpers.js";
import { needRoot, needTools } from "../helpers/tools.js";

let dir: string;
let keys: Keys;

beforeAll(async () => {
  needRoot();
  await needTools("openssl", "unshare", "chroot");
  dir = await scratch("sysextkit-trust-");
  keys = await makeKeys(join(dir, "keys"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("sysextkit trust", () => {
  it("writes the certificate under usr/lib/verity.d and a drop-in passing root=signed+absent:usr=signed+absent", async () => {
    const out = join(dir, "base");
    const r = await writeTrust({ certificate: keys.cert, outDir: out });
    expect(r.files).toEqual([
      "usr/lib/verity.d/sysextkit-test-signer.crt",
      "usr/lib/systemd/system/systemd-sysext.service.d/10-sysextkit-signed-only.conf",
    ]);
    expect(await readFile(r.certificate, "utf8")).toBe(await readFile(keys.cert, "utf8"));
    const dropIn = await readFile(r.dropIn, "utf8");
    expect(dropIn).toContain(
      `ExecStart=\nExecStart=systemd-sysext refresh --image-policy=${STRICT_SYSEXT_POLICY}\n`,
    );
    expect(dropIn).toContain(
      `ExecReload=\nExecReload=systemd-sysext refresh --image-policy=${STRICT_SYSEXT_POLICY}\n`,
    );
    expect(dropIn).not.toMatch(/verity\+signed/);
    const { stdout } = await execa("openssl", [
      "x509",
      "-in",
      r.certificate,
      "-noout",
      "-fingerprint",
      "-sha256",
    ]);
    expect(stdout.split("=")[1]!.replace(/:/g, "").toLowerCase()).toBe(r.fingerprint);
  });
  it("the drop-in lands after the unit's own ExecStart= as systemd 257 reads it (cat-config, verify)", async () => {
    const root = await ensureRoot("trixie-tools");
    const r = await runInRoot(
      root,
      [renderSysextPolicyDropInFile()],
      [
        "d=/etc/systemd/system/systemd-sysext.service.d",
        "mkdir -p $d && cp 10-sysextkit-signed-only.conf $d/",
        "systemd-analyze cat-config systemd/system/systemd-sysext.service",
        "(systemd-analyze verify --man=no systemd-sysext.service 2>&1; echo VERIFY=$?)",
        "rm -rf $d",
      ].join(" && "),
    );
    process.stderr.write(`systemd 257 on the drop-in:\n${r.stdout}${r.stderr}\n`);
    const text = r.stdout;
    expect(text.indexOf("ExecStart=systemd-sysext refresh\n")).toBeGreaterThan(-1);
    expect(
      text.indexOf(`ExecStart=systemd-sysext refresh --image-policy=${STRICT_SYSEXT_POLICY}`),
    ).toBeGreaterThan(text.indexOf("ExecStart=systemd-sysext refresh\n"));
    expect(r.stdout).toMatch(/VERIFY=0/);
  });
  it("--location etc writes under etc/; a bad certificate writes nothing", async () => {
    const r = await writeTrust({
      certificate: keys.cert,
      outDir: join(dir, "etc-base"),
      location: "etc",
      name: "oem",
    });
    expect(r.files).toEqual([
      "etc/verity.d/oem.crt",
      "etc/systemd/system/systemd-sysext.service.d/10-sysextkit-signed-only.conf",
    ]);
    for (const [cert, message] of [
      [keys.expiredCert, /expired/],
      [keys.key, /not an X.509 certificate/],
    ] as const) {
      const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
      const e = (await writeTrust({ certificate: cert, outDir: out }).catch(
        (x: unknown) => x,
      )) as SysextError;
      expect(e.message).toMatch(message);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    }
  });
});

/** The drop-in as a file in the scratch dir (runInRoot copies files). */
function renderSysextPolicyDropInFile(): string {
  const f = join(dir, "10-sysextkit-signed-only.conf");
  writeFileSync(f, renderSysextPolicyDropIn());
  return f;
}

describe("image policies", () => {
  const policies = [
    STRICT_SYSEXT_POLICY,
    "root=verity+signed+absent:usr=verity+signed+absent",
    "root=verity+signed+encrypted+unprotected+absent:usr=verity+signed+encrypted+unprotected+absent",
    "*",
    "-",
    "~",
    "root=open",
    "root=ignore:usr=unprotected",
    "=verity+absent",
    "root=read-only-on+squashfs:usr=absent",
  ];
  it("parse to what systemd-analyze image-policy (262) says for root and usr", async () => {
    const root = await ensureRoot("sid-tools");
    for (const p of policies) {
      const r = await runInRoot(root, [], `systemd-analyze image-policy '${p}'`);
      expect(r.exitCode, r.stderr).toBe(0);
      const mode = (name: string) => {
        const m = new RegExp(`^${name}\\s+(\\S+)`, "m").exec(r.stdout)![1]!;
        const expand: Record<string, string> = { open: PROTECTION_FLAGS.join("+"), ignore: "unused+absent" };
        return new Set((expand[m] ?? m).split("+"));
      };
      const ours = parseImagePolicy(p);
      for (const d of ["root", "usr"]) {
        expect([...(ours.rules.get(d) ?? ours.fallback)].sort(), `${p} ${d}`).toEqual([...mode(d)].sort());
      }
    }
  });
  it("an untrusted signature is refused by either policy; an unsigned image passes verity+signed+absent only", () => {
    const untrusted = { offered: "signed" as const, signatureTrusted: false };
    expect(evaluatePolicy(parseImagePolicy(STRICT_SYSEXT_POLICY), untrusted)).toMatchObject({
      ok: false,
      usedAs: "refused",
    });
    const lax = parseImagePolicy("root=verity+signed+absent:usr=verity+signed+absent");
    expect(evaluatePolicy(lax, untrusted)).toMatchObject({ ok: false, usedAs: "refused" });
    expect(evaluatePolicy(lax, { offered: "verity", signatureTrusted: undefined })).toMatchObject({
      ok: true,
      usedAs: "verity",
    });
    expect(
      evaluatePolicy(parseImagePolicy(STRICT_SYSEXT_POLICY), {
        offered: "verity",
        signatureTrusted: undefined,
      }),
    ).toMatchObject({ ok: false });
    expect(
      evaluatePolicy(parseImagePolicy(STRICT_SYSEXT_POLICY), {
        offered: "unprotected",
        signatureTrusted: undefined,
      }),
    ).toMatchObject({ ok: false });
    expect(
      evaluatePolicy(parseImagePolicy(STRICT_SYSEXT_POLICY), { offered: "signed", signatureTrusted: true }),
    ).toMatchObject({ ok: true, usedAs: "signed" });
    expect(() => parseImagePolicy("root=bogus")).toThrow(SysextError);
  });
});
