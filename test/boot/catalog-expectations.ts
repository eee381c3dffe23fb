// What each OEM extension's units do when booted on Debian 12 under QEMU (TCG) in its platform dress.
//
// started: units systemd must have started (active, or ran and finished). notVerifiable: units stopped by
// something QEMU cannot present as that platform, with the words the report must name it by.

import type { GuestFile } from "../../src/boot/inject.js";

export interface CatalogBootExpectation {
  readonly started: readonly string[];
  readonly notVerifiable: Readonly<Record<string, RegExp>>;
  /**
   * Units ordered after one that waits for the platform: started when the probe looks after that one gave up
   * and was restarted, else still waiting, NOT VERIFIED for the same reason (which depends on timing).
   */
  readonly startedOrBlocked?: Readonly<Record<string, RegExp>>;
  /** What systemd-detect-virt must say in the dressed guest, where the agents' conditions depend on it. */
  readonly detectVirt?: string;
  /** What the base must have for the agents beyond the bootable Debian 12 root (placed before the boot). */
  readonly files?: readonly GuestFile[];
  /** A command in the guest that shows the platform limit from the agent's side, and what it prints. */
  readonly proof?: { readonly run: string; readonly output: RegExp };
}

/**
 * What OS Login edits, as Debian's openssh-server and sudo install it (sshd_config, pam.d/sshd, the sudoers.d
 * directory): the bootable base has neither, and on a base without /etc/ssh/sshd_config
 * oem-gce-enable-oslogin.service is skipped (google_oslogin_control fails without them).
 */
const OS_LOGIN_BASE: readonly GuestFile[] = [
  {
    target: "/etc/ssh/sshd_config",
    content: "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n",
  },
  {
    target: "/etc/pam.d/sshd",
    content: [
      "# PAM configuration for the Secure Shell service",
      "",
      "# Standard Un*x authentication.",
      "@include common-auth",
      "",
      "# Disallow non-root logins when /etc/nologin exists.",
      "account    required     pam_nologin.so",
      "",
      "# Standard Un*x authorization.",
      "@include common-account",
      "session    required     pam_loginuid.so",
      "",
      "# Standard Un*x session setup and teardown.",
      "@include common-session",
      "",
      "# Standard Un*x password updating.",
      "@include common-password",
      "",
    ].join("\n"),
  },
  { target: "/etc/sudoers.d/README", content: "# sudo's drop-in directory\n" },
];

export const CATALOG_AT_BOOT: Readonly<Record<string, CatalogBootExpectation>> = {
  "oem-qemu": { started: [], notVerifiable: {} },
  "oem-openstack": { started: [], notVerifiable: {} },
  // amazon-ec2-utils has udev rules and tools, no service (Debian packages no SSM agent).
  "oem-ami": { started: [], notVerifiable: {} },
  "oem-gce": {
    files: OS_LOGIN_BASE,
    started: ["setup-oem-gce.service", "oem-gce-enable-oslogin.service", "google-oslogin-cache.timer"],
    notVerifiable: { "oem-gce.service": /metadata server/ },
    // Both are ordered after google-guest-agent.service, which never reports ready here.
    startedOrBlocked: {
      "google-startup-scripts.service": /metadata server/,
      "google-shutdown-scripts.service": /metadata server/,
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
