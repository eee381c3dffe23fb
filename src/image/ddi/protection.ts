// Would the host's systemd set the image up under its image policy: DDI architecture, signature trust, policy.
import type { X509Certificate } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { SystemdArch } from "../../base/arch.js";
import {
  evaluatePolicy,
  parseImagePolicy,
  SYSEXT_DEFAULT_POLICY,
  type PolicyVerdict,
} from "../../release/image-policy.js";
import { exists } from "../../util/fs.js";
import type { SecretRef } from "../../util/secret.js";
import type { ImageInfo } from "../inspect.js";
import { sidecarPaths } from "./index.js";
import { verifyDetached } from "./pkcs7.js";
import { readDdi } from "./read.js";
import { readCertificate, signedRootHashText } from "./signature.js";

/** Where systemd looks for certificates it trusts for verity signatures (userspace check). */
export const VERITY_D_DIRS = ["etc/verity.d", "run/verity.d", "usr/local/lib/verity.d", "usr/lib/verity.d"];

export interface ProtectionStep {
  readonly rule: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ProtectionInput {
  readonly image: string;
  readonly info: ImageInfo;
  readonly hostArch: SystemdArch;
  readonly systemdVersion: number;
  /** The host's root directory: its verity.d certificates are trusted. */
  readonly hostRoot?: string;
  readonly certificates?: readonly SecretRef[];
  /** --image-policy as the host passes it (default: systemd-sysext's own default). */
  readonly policy?: string;
}

/** Architectures whose root partition systemd also accepts on a host (the secondary architecture). */
const SECONDARY: Partial<Record<SystemdArch, SystemdArch>> = { "x86-64": "x86", arm64: "arm" };

/** The certificates in a host root's verity.d directories. */
export async function hostVerityCertificates(root: string): Promise<X509Certificate[]> {
  const out: X509Certificate[] = [];
  for (const d of VERITY_D_DIRS) {
    const dir = join(root, d);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names.filter((x) => x.endsWith(".crt")).sort()) {
      const p = join(dir, n);
      if ((await stat(p)).isFile()) out.push(await readCertificate(p));
    }
  }
  return out;
}

export async function checkProtection(
  i: ProtectionInput,
): Promise<{ steps: ProtectionStep[]; ok: boolean; verdict: PolicyVerdict | undefined }> {
  const steps: ProtectionStep[] = [];
  const v = i.info.verity;
  if (i.info.format === "ddi") {
    const arch = v?.arch as SystemdArch | undefined;
    const ok = arch === i.hostArch || (arch !== undefined && SECONDARY[i.hostArch] === arch);
    steps.push({
      rule: "ddi-architecture",
      ok,
      detail: ok
        ? `root partition for ${arch}`
        : `the DDI has a root partition for ${arch ?? "no known architecture"}, the host is ${i.hostArch}`,
    });
  }
  const trusted = [...(i.hostRoot ? await hostVerityCertificates(i.hostRoot) : [])];
  for (const c of i.certificates ?? []) trusted.push(await readCertificate(c));
  // An unsigned DDI tells systemd no root hash: 252 and 257 then mount it without dm-verity unless
  // NAME.roothash lies next to it; 262 sets verity up from the partition UUIDs (258-261 not checked).
  const rootHashKnown =
    i.info.format !== "ddi" ||
    v?.signed === true ||
    i.systemdVersion >= 262 ||
    (await exists(sidecarPaths(i.image).roothash));
  const offered = !v ? "unprotected" : v.signed ? "signed" : rootHashKnown ? "verity" : "unprotected";
  if (v && !v.signed && !rootHashKnown) {
    steps.push({
      rule: "verity",
      ok: true,
      detail: `unsigned DDI without ${basename(sidecarPaths(i.image).roothash)} next to it: systemd ${i.systemdVersion} cannot know the root hash and mounts it without dm-verity`,
    });
  }
  let signatureTrusted: boolean | undefined;
  if (offered === "signed" && trusted.length > 0) {
    const sig = await signatureOf(i.image, i.info);
    signatureTrusted =
      sig !== undefined && verifyDetached(sig.pkcs7, signedRootHashText(sig.rootHash), trusted).ok;
  }
  if (signatureTrusted !== undefined) {
    steps.push({
      rule: "signature",
      ok: signatureTrusted,
      detail: signatureTrusted
        ? `valid, by a certificate the host trusts (${trusted.length} in verity.d/--certificate)`
        : "not valid for any certificate the host trusts (kernel keyring aside): systemd refuses to set it up",
    });
  }
  if (i.systemdVersion < 254) {
    if (i.policy !== undefined) {
      steps.push({
        rule: "image-policy",
        ok: false,
        detail: `systemd ${i.systemdVersion} has no --image-policy (added in 254): systemd-sysext would not start with it`,
      });
      return { steps, ok: false, verdict: undefined };
    }
    const bad = signatureTrusted === false;
    steps.push({
      rule: "image-policy",
      ok: !bad,
      detail: bad
        ? `systemd ${i.systemdVersion} sets up a signed image only when the kernel keyring or verity.d accepts its signature`
        : `systemd ${i.systemdVersion} has no image policy: ${offered} images are merged (it cannot require signatures)`,
    });
    return { steps, ok: steps.every((s) => s.ok), verdict: undefined };
  }
  const policy = parseImagePolicy(i.policy ?? SYSEXT_DEFAULT_POLICY);
  const verdict = evaluatePolicy(policy, { offered, signatureTrusted });
  steps.push({ rule: "image-policy", ok: verdict.ok, detail: `${policy.text}: ${verdict.detail}` });
  return { steps, ok: steps.every((s) => s.ok), verdict };
}

async function signatureOf(
  image: string,
  info: ImageInfo,
): Promise<{ pkcs7: Buffer; rootHash: Buffer } | undefined> {
  if (info.format === "ddi") {
    const d = await readDdi(image);
    const j = d.signatureInfo?.json;
    return j ? { pkcs7: j.signature, rootHash: Buffer.from(j.rootHash, "hex") } : undefined;
  }
  const s = sidecarPaths(image);
  const hex = info.verity?.rootHash;
  if (!hex) return undefined;
  return { pkcs7: await readFile(s.signature), rootHash: Buffer.from(hex, "hex") };
}
