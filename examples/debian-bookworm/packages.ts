// The Debian 12 (bookworm) packages each OEM extension bundles: the agents plus what the base lacks.
//
// Computed on 2025-05 bookworm (+ bookworm-security) amd64 with
//   apt-get -s -o Dir::State::status=<base>/var/lib/dpkg/status install --no-install-recommends <agents>
// against the recommended base `debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm`
// (see BASE_INCLUDE). Against a plain minbase root (no systemd) `libssl3` is missing as well.
// Recommends are not included. The full package lists live in one place only: the deb sources of
// extensions/oem-*/extension.yaml (`debPackagesOf` in debs.ts reads them); `resolveClosure` in debs.ts
// recomputes them for another base.

/** Packages debootstrap adds to --variant=minbase for the example base (a base that can boot and run units). */
export const BASE_INCLUDE: readonly string[] = ["systemd", "systemd-sysv", "dbus"];

/** The agent packages per OEM (what a maintainer asks for; the definitions add their missing dependencies). */
export const OEM_AGENTS: Readonly<Record<string, readonly string[]>> = {
  "oem-vmware": ["open-vm-tools"],
  "oem-azure": ["waagent", "hyperv-daemons", "chrony"],
  "oem-gce": ["google-guest-agent", "google-compute-engine-oslogin"],
  // amazon-ssm-agent, ec2-instance-connect and ec2-hibinit-agent are not packaged in Debian;
  // amazon-ec2-net-utils needs udev + systemd-networkd in the base, so it is left to the base.
  "oem-ami": ["amazon-ec2-utils"],
  "oem-qemu": [],
  "oem-openstack": [],
};
