// What each OEM extension's units do when booted on Debian 12 under QEMU (TCG) in its platform dress.
//
// started: units systemd must have started (active, or ran and finished). notVerifiable: units stopped by
// something QEMU cannot present as that platform, with the words the report must name it by.

import type { GuestFile } from "../../src/boot/inject.js";

export interface CatalogBootExpectation {
  readonly started: readonly string[];
  readonly notVerifiable: Readonly<Record<string, RegExp>>;
  /** What systemd-detect-virt must say in the dressed guest, where the agents' conditions depend on it. */
  readonly detectVirt?: string;
  /** What the base must have for the agents beyond the bootable Debian 12 root (placed before the boot). */
  readonly files?: readonly GuestFile[];
  /** A command in the guest that shows the platform limit from the agent's side, and what it prints. */
  readonly proof?: { readonly run: string; readonly output: RegExp };
}

/**
 * sshd's configuration as Debian's openssh-server installs it (the parts OS Login edits): the bootable base
 * has no sshd, and on a base without /etc/ssh/sshd_config oem-gce-enable-oslogin.service is skipped.
 */
const SSHD_FILES: readonly GuestFile[] = [
  {
    target: "/etc/ssh/sshd_config",
    content: "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n",
  },
  {
    target: "/etc/pam.d/sshd",
    content: [
      "@include common-auth",
      "account    required     pam_nologin.so",
      "@include common-account",
      "session    required     pam_loginuid.so",
      "@include common-session",
      "@include common-password",
      "",
    ].join("\n"),
  },
];

export const CATALOG_AT_BOOT: Readonly<Record<string, CatalogBootExpectation>> = {
  "oem-qemu": { started: [], notVerifiable: {} },
  "oem-openstack": { started: [], notVerifiable: {} },
  // amazon-ec2-utils has udev rules and tools, no service (Debian packages no SSM agent).
  "oem-ami": { started: [], notVerifiable: {} },
  "oem-gce": {
    files: SSHD_FILES,
    started: [
      "setup-oem-gce.service",
      "oem-gce-enable-oslogin.service",
      "google-shutdown-scripts.service",
      "google-oslogin-cache.timer",
    ],
    notVerifiable: {
      "oem-gce.service": /metadata server/,
      "google-startup-scripts.service": /metadata server/,
    },
  },
  // The azure dress (Gen2 DMI strings, QEMU's CPUID signature hidden) meets ConditionVirtualization=microsoft
  // on systemd 252, so waagent runs (and keeps retrying the wire server it cannot reach).
  "oem-azure": {
    started: ["setup-oem-azure.service", "oem-azure-sysusers.service", "waagent.service"],
    notVerifiable: {
      "chronyd.service": /ptp_hyperv/,
    },
    detectVirt: "microsoft",
  },
  // The DMI strings make systemd-detect-virt say vmware, so vmtoolsd starts; its own check of the backdoor
  // then fails (vmware-checkvm says so) and it exits 1, restarted by Upholds= until the start limit.
  "oem-vmware": {
    started: ["setup-oem-vmware.service", "vgauthd.service"],
    notVerifiable: { "vmtoolsd.service": /VMware backdoor/ },
    detectVirt: "vmware",
    proof: {
      // A --run command that exits non-zero fails the boot test: the exit code goes into the output.
      run: "vmware-checkvm 2>&1; echo exit=$?",
      output: /must be run inside a virtual machine on a VMware hypervisor product[^]*exit=1/,
    },
  },
};
