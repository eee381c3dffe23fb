// Trust material for a base image: the verity.d certificate and a systemd-sysext drop-in requiring signed extensions.
import type { X509Certificate } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SysextError } from "../errors.js";
import { certificateFingerprint, loadCertificate } from "../image/ddi/signature.js";
import { renderIni } from "../util/kv-writer.js";
import { withAtomicOutputs } from "../image/ddi/produce.js";
import type { SecretRef } from "../util/secret.js";

/**
 * The policy the drop-in passes: root and /usr partitions must be verity with a valid signature, or absent.
 * Never "verity+signed+absent": with "verity" allowed, systemd merges any unsigned verity image, so an
 * attacker only needs to strip the signature partition (or build an unsigned DDI of their own).
 */
export const STRICT_SYSEXT_POLICY = "root=signed+absent:usr=signed+absent";

export interface TrustOptions {
  readonly certificate: SecretRef;
  /** Directory mirroring the base image's root (files go to <out>/usr/lib/... or <out>/etc/...). */
  readonly outDir: string;
  /** File name stem of the certificate in verity.d (default: derived from the certificate's CN). */
  readonly name?: string;
  /** "usr" (default, part of the OS image) or "etc" (local configuration). */
  readonly location?: "usr" | "etc";
}

export interface TrustResult {
  readonly certificate: string;
  readonly dropIn: string;
  readonly fingerprint: string;
  readonly subject: string;
  readonly policy: string;
  /** The files, relative to outDir, as a base image build would copy them. */
  readonly files: readonly string[];
}

/** A verity.d file name stem from the certificate's CN: lowercase letters, digits, dot, dash, underscore. */
export function certificateStem(cert: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "";
  const stem = cn
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
  return stem || `sysextkit-${certificateFingerprint(cert).slice(0, 16)}`;
}

/** The drop-in text: ExecStart/ExecReload of systemd-sysext.service again, with the strict image policy. */
export function renderSysextPolicyDropIn(policy = STRICT_SYSEXT_POLICY): string {
  const cmd = `systemd-sysext refresh --image-policy=${policy}`;
  return renderIni(
    "systemd-sysext.service drop-in",
    [
      {
        name: "Service",
        entries: [
          ["ExecStart", ""],
          ["ExecStart", cmd],
          ["ExecReload", ""],
          ["ExecReload", cmd],
        ],
      },
    ],
    [
      "Written by sysextkit trust: merge only system extensions whose root and /usr partitions are dm-verity",
      "protected AND carry a valid signature by a trusted certificate (verity.d/*.crt or the kernel keyring).",
      "Needs systemd >= 254 (--image-policy); unsigned, wrongly signed and plain images are refused.",
    ],
  );
}

/** Write the certificate under verity.d and the sysext policy drop-in below `outDir`; nothing on bad input. */
export async function writeTrust(o: TrustOptions): Promise<TrustResult> {
  const cert = await loadCertificate(o.certificate);
  const stem = o.name ?? certificateStem(cert);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stem)) {
    throw new SysextError("USAGE", `--name ${JSON.stringify(stem)} is not a file name stem`, {
      hint: "use letters, digits, dot, dash and underscore, e.g. --name oem-signing",
    });
  }
  const prefix = o.location === "etc" ? "etc" : "usr/lib";
  const unitDir = o.location === "etc" ? "etc/systemd/system" : "usr/lib/systemd/system";
  const certRel = `${prefix}/verity.d/${stem}.crt`;
  const dropRel = `${unitDir}/systemd-sysext.service.d/10-sysextkit-signed-only.conf`;
  const out = resolve(o.outDir);
  const files = [
    [certRel, cert.toString()],
    [dropRel, renderSysextPolicyDropIn()],
  ] as const;
  // Both files or neither: a policy without its certificate would refuse every extension.
  await withAtomicOutputs(
    files.map(([rel]) => join(out, rel)),
    async (tmps) => {
      for (const [i, [, text]] of files.entries()) {
        await writeFile(tmps[i]!, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o644 });
      }
    },
  );
  return {
    certificate: join(out, certRel),
    dropIn: join(out, dropRel),
    fingerprint: certificateFingerprint(cert),
    subject: cert.subject.replace(/\n/g, ", "),
    policy: STRICT_SYSEXT_POLICY,
    files: [certRel, dropRel],
  };
}
