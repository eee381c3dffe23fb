// What each OEM extension's units do when booted on Debian 12 under QEMU (TCG) in its platform dress.
//
// started: units systemd must have started (active, or ran and finished). notVerifiable: units stopped by
// something QEMU cannot present as that platform, with the words the report must name it by.

export interface CatalogBootExpectation {
  readonly started: readonly string[];
  readonly notVerifiable: Readonly<Record<string, RegExp>>;
  /** What systemd-detect-virt must say in the dressed guest, where the agents' conditions depend on it. */
  readonly detectVirt?: string;
}

export const CATALOG_AT_BOOT: Readonly<Record<string, CatalogBootExpectation>> = {
  "oem-qemu": { started: [], notVerifiable: {} },
  "oem-openstack": { started: [], notVerifiable: {} },
  // amazon-ec2-utils has udev rules and tools, no service (Debian packages no SSM agent).
  "oem-ami": { started: [], notVerifiable: {} },
  "oem-gce": {
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
  "oem-vmware": {
    started: ["setup-oem-vmware.service", "vmtoolsd.service", "vgauthd.service"],
    notVerifiable: {},
    detectVirt: "vmware",
  },
};
