// How a QEMU guest is dressed as each cloud platform (SMBIOS strings, CPUID), and what QEMU cannot fake.

export const PLATFORMS = ["qemu", "vmware", "azure", "gce", "aws", "openstack"] as const;
export type PlatformName = (typeof PLATFORMS)[number];

/** The OEM extension each platform's guest carries (Flatcar's names; AWS is "ami"). */
export const PLATFORM_OF_OEM: Readonly<Record<string, PlatformName>> = {
  "oem-qemu": "qemu",
  "oem-vmware": "vmware",
  "oem-azure": "azure",
  "oem-gce": "gce",
  "oem-ami": "aws",
  "oem-openstack": "openstack",
};

export type Accel = "kvm" | "tcg";

/** A condition the dress cannot make true, with the reason and what would. */
export interface PlatformLimit {
  /** The unit condition, as systemd prints it ("ConditionVirtualization=microsoft"), or what is missing. */
  readonly condition: string;
  /**
   * Units (their own names) that fail or keep starting for want of it; with `evidence`, only when their
   * journal shows it.
   */
  readonly units?: readonly string[];
  readonly evidence?: RegExp;
  /** Under which accelerators QEMU cannot meet it. */
  readonly under: readonly Accel[];
  /** Only when the guest's systemd is older than this (detection that newer systemd does differently). */
  readonly systemdBelow?: number;
  readonly why: string;
}

export interface PlatformDress {
  readonly name: PlatformName;
  readonly title: string;
  /** `-smbios` arguments (x86; arm64 guests see SMBIOS only through UEFI firmware). */
  readonly smbios: readonly string[];
  /** `-uuid` (the SMBIOS system UUID), when the platform's UUID has a recognisable form. */
  readonly uuid?: string;
  /**
   * Extra `-cpu` properties per accelerator (x86). Hiding QEMU's own CPUID signature (`tcg-cpuid=off`,
   * `kvm=off`) makes systemd-detect-virt fall back to the DMI strings, as it does on that platform.
   */
  readonly cpu: Readonly<Record<Accel, readonly string[]>>;
  /** What systemd-detect-virt says on the real platform. */
  readonly realVirt: string;
  readonly limits: readonly PlatformLimit[];
}

/** A comma inside an -smbios value is written twice. */
function v(text: string): string {
  return text.replaceAll(",", ",,");
}

export const PLATFORM_DRESS: Readonly<Record<PlatformName, PlatformDress>> = {
  qemu: {
    name: "qemu",
    title: "QEMU (no dress)",
    smbios: [],
    cpu: { kvm: [], tcg: [] },
    realVirt: "qemu or kvm",
    limits: [],
  },
  vmware: {
    name: "vmware",
    title: "VMware vSphere",
    smbios: [
      `type=0,vendor=${v("Phoenix Technologies LTD")},version=6.00`,
      `type=1,manufacturer=${v("VMware, Inc.")},product=${v("VMware Virtual Platform")},version=None,serial=${v("VMware-56 4d 2f 0c 3b 1a 77 e5-8f 1c 07 3c 7e 8e 0d 21")}`,
      `type=2,manufacturer=${v("Intel Corporation")},product=${v("440BX Desktop Reference Platform")}`,
      `type=3,manufacturer=${v("No Enclosure")}`,
    ],
    cpu: { kvm: ["kvm=off"], tcg: ["tcg-cpuid=off"] },
    realVirt: "vmware",
    limits: [
      {
        condition: "the VMware backdoor (vmtoolsd's guest RPC channel)",
        units: ["open-vm-tools.service", "vmtoolsd.service"],
        // vmtoolsd logs nothing to the journal when its VMware check fails; systemd records the exit.
        evidence: /status=1\/FAILURE/,
        under: ["kvm", "tcg"],
        why: "open-vm-tools' own check (vmware-checkvm) finds no VMware hypervisor: QEMU's vmport emulates a few backdoor commands, not the RPCI/TCLO channel vmtoolsd needs, so vmtoolsd exits 1",
      },
    ],
  },
  azure: {
    name: "azure",
    title: "Microsoft Azure (Hyper-V, generation 2 VM)",
    // A generation 2 (UEFI) VM, the default for current images: the firmware and system version strings
    // start with "Hyper-V", which systemd >= 250 reads from product_version to detect Hyper-V by DMI.
    smbios: [
      `type=0,vendor=${v("Microsoft Corporation")},version=${v("Hyper-V UEFI Release v4.1")}`,
      `type=1,manufacturer=${v("Microsoft Corporation")},product=${v("Virtual Machine")},version=${v("Hyper-V UEFI Release v4.1")},serial=0000-0002-6405-1413-6185-1476-35`,
      `type=2,manufacturer=${v("Microsoft Corporation")},product=${v("Virtual Machine")},version=${v("Hyper-V UEFI Release v4.1")}`,
      // The chassis asset tag Azure sets on every VM (cloud-init and WALinuxAgent look for it).
      `type=3,manufacturer=${v("Microsoft Corporation")},version=${v("Hyper-V UEFI Release v4.1")},asset=7783-7084-3265-9085-8269-3286-77`,
    ],
    cpu: {
      // Hyper-V enlightenments: CPUID leaf 0x40000000 then says "Microsoft Hv" (systemd: microsoft).
      kvm: ["hv-relaxed", "hv-vapic", "hv-spinlocks=0x1fff", "hv-time", "hv-vendor-id=Microsoft Hv"],
      // TCG has no Hyper-V CPUID: hide QEMU's own signature, so systemd-detect-virt goes by the DMI strings.
      tcg: ["tcg-cpuid=off"],
    },
    realVirt: "microsoft",
    limits: [
      {
        condition: "ConditionVirtualization=microsoft",
        under: ["tcg"],
        systemdBelow: 250,
        why: "systemd before 250 detects Hyper-V only by the CPUID vendor 'Microsoft Hv', which QEMU presents only with KVM's Hyper-V enlightenments (--accel kvm); 250 and later also read the DMI product_version",
      },
      {
        condition: "the Hyper-V PTP clock /dev/ptp_hyperv (VMBus)",
        units: ["chrony.service"],
        evidence: /ptp_hyperv/,
        under: ["kvm", "tcg"],
        why: "chronyd's refclock is the Hyper-V PTP clock, which needs VMBus; QEMU 7.2 has no VMBus",
      },
    ],
  },
  gce: {
    name: "gce",
    title: "Google Compute Engine",
    smbios: [
      "type=0,vendor=Google,version=Google",
      `type=1,manufacturer=Google,product=${v("Google Compute Engine")},serial=GoogleCloud-8C6D6F1A2B3C4D5E6F708192A3B4C5D6`,
      `type=2,manufacturer=Google,product=${v("Google Compute Engine")}`,
      "type=3,manufacturer=Google",
    ],
    cpu: { kvm: [], tcg: [] },
    realVirt: "google (systemd reads the DMI product name)",
    limits: [
      {
        condition: "the metadata server 169.254.169.254",
        units: [
          "google-guest-agent.service",
          "google-startup-scripts.service",
          "google-shutdown-scripts.service",
        ],
        under: ["kvm", "tcg"],
        why: "the agent reports ready only once the metadata server answers; the guest has no network interface and no metadata server exists under QEMU",
      },
    ],
  },
  aws: {
    name: "aws",
    title: "Amazon EC2",
    smbios: [
      `type=0,vendor=${v("Amazon EC2")},version=1.0`,
      `type=1,manufacturer=${v("Amazon EC2")},product=m5.large,serial=ec2e1916-9099-7caf-fd21-012345abcdef`,
      `type=2,manufacturer=${v("Amazon EC2")}`,
      `type=3,manufacturer=${v("Amazon EC2")},asset=i-0123456789abcdef0`,
    ],
    uuid: "ec2e1916-9099-7caf-fd21-012345abcdef",
    cpu: { kvm: ["kvm=off"], tcg: ["tcg-cpuid=off"] },
    realVirt: "amazon",
    limits: [
      {
        condition: "instance metadata service 169.254.169.254",
        under: ["kvm", "tcg"],
        why: "the guest has no network interface unless asked, and no IMDS answers there",
      },
    ],
  },
  openstack: {
    name: "openstack",
    title: "OpenStack Nova (KVM)",
    smbios: [
      "type=0,vendor=SeaBIOS,version=1.16.0",
      `type=1,manufacturer=${v("OpenStack Foundation")},product=${v("OpenStack Nova")},version=27.1.0,family=${v("Virtual Machine")}`,
      "type=3,manufacturer=QEMU",
    ],
    cpu: { kvm: [], tcg: [] },
    realVirt: "kvm",
    limits: [],
  },
};

/** Unit conditions that test the platform rather than the guest's own state. */
export const PLATFORM_CONDITIONS: ReadonlySet<string> = new Set([
  "ConditionVirtualization",
  "ConditionFirmware",
  "ConditionHost",
  "ConditionSecurity",
  "ConditionCPUFeature",
  "ConditionKernelCommandLine",
  "AssertVirtualization",
]);

/** Whether a limit applies to this guest (accelerator, systemd version when known). */
function applies(l: PlatformLimit, accel: Accel, systemd: number | undefined): boolean {
  return (
    l.under.includes(accel) &&
    (l.systemdBelow === undefined || systemd === undefined || systemd < l.systemdBelow)
  );
}

/** The dress's known limit that explains a unit failing or still starting, if any. */
export function failureLimitFor(
  platform: PlatformName,
  accel: Accel,
  unitId: string,
  journal: readonly string[],
  systemd?: number,
): PlatformLimit | undefined {
  return PLATFORM_DRESS[platform].limits.find(
    (l) =>
      applies(l, accel, systemd) &&
      l.units?.includes(unitId) &&
      (l.evidence === undefined || journal.some((line) => l.evidence!.test(line))),
  );
}

/** The dress's known limit for a failed condition ("ConditionVirtualization=microsoft"), if any. */
export function limitFor(
  platform: PlatformName,
  accel: Accel,
  condition: string,
  systemd?: number,
): PlatformLimit | undefined {
  return PLATFORM_DRESS[platform].limits.find((l) => l.condition === condition && applies(l, accel, systemd));
}
