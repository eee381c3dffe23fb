// The Debian 12 (bookworm) packages each OEM extension bundles: the agents plus what the base lacks.
//
// Computed on 2025-05 bookworm (+ bookworm-security) amd64 with
//   apt-get -s -o Dir::State::status=<base>/var/lib/dpkg/status install --no-install-recommends <agents>
// against the recommended base `debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm`
// (see BASE_INCLUDE). Against a plain minbase root (no systemd) `libssl3` is missing as well.
// Recommends are not included. The same lists are spelled out in extensions/oem-*/extension.yaml
// (deb sources); keep both in sync — `resolveClosure` in debs.ts recomputes them for another base.

/** Packages debootstrap adds to --variant=minbase for the example base (a base that can boot and run units). */
export const BASE_INCLUDE: readonly string[] = ["systemd", "systemd-sysv", "dbus"];

/** The agent packages per OEM (what a maintainer asks for; the rest below are their dependencies). */
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

/** Every package each extension bundles (agents first, then missing dependencies, sorted). */
export const OEM_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  // vmtoolsd + VGAuthService; libxml2/libxmlsec1 pull libicu72 (the largest part), iproute2 and
  // pciutils are called by vmtoolsd's guest-info and network scripts.
  "oem-vmware": [
    "open-vm-tools",
    "iproute2",
    "libbpf1",
    "libbsd0",
    "libcap2-bin",
    "libdrm-common",
    "libdrm2",
    "libelf1",
    "libfuse3-3",
    "libglib2.0-0",
    "libgssapi-krb5-2",
    "libicu72",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libmnl0",
    "libmspack0",
    "libpci3",
    "libtirpc-common",
    "libtirpc3",
    "libxml2",
    "libxmlsec1",
    "libxmlsec1-openssl",
    "libxslt1.1",
    "libxtables12",
    "lsb-release",
    "pci.ids",
    "pciutils",
  ],
  // WALinuxAgent is pure Python: it brings python3.11 (+ distro, pkg-resources), openssl and
  // ca-certificates. hyperv-daemons only needs libc. chrony brings libedit2 and ucf (ucf and
  // sensible-utils are only used by its maintainer scripts, but Depends must be satisfied).
  "oem-azure": [
    "waagent",
    "hyperv-daemons",
    "chrony",
    "ca-certificates",
    "iproute2",
    "libbpf1",
    "libbsd0",
    "libcap2-bin",
    "libedit2",
    "libelf1",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libmnl0",
    "libncursesw6",
    "libnsl2",
    "libpython3-stdlib",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "libreadline8",
    "libsqlite3-0",
    "libssl3",
    "libtirpc-common",
    "libtirpc3",
    "libxtables12",
    "lsb-release",
    "media-types",
    "openssl",
    "python3",
    "python3-distro",
    "python3-minimal",
    "python3-pkg-resources",
    "python3.11",
    "python3.11-minimal",
    "readline-common",
    "sensible-utils",
    "ucf",
  ],
  // The Go guest agent is static apart from libc; OS Login's NSS/PAM modules need libcurl4.
  "oem-gce": [
    "google-guest-agent",
    "google-compute-engine-oslogin",
    "libbrotli1",
    "libcurl4",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libldap-2.5-0",
    "libnghttp2-14",
    "libpsl5",
    "librtmp1",
    "libsasl2-2",
    "libsasl2-modules-db",
    "libssh2-1",
  ],
  // ec2-metadata (shell + curl), ebsnvme-id (python3) and the NVMe udev rules that name EBS volumes.
  "oem-ami": [
    "amazon-ec2-utils",
    "curl",
    "libbrotli1",
    "libcurl4",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libldap-2.5-0",
    "libncursesw6",
    "libnghttp2-14",
    "libnsl2",
    "libpsl5",
    "libpython3-stdlib",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "libreadline8",
    "librtmp1",
    "libsasl2-2",
    "libsasl2-modules-db",
    "libsqlite3-0",
    "libssh2-1",
    "libtirpc-common",
    "libtirpc3",
    "media-types",
    "python3",
    "python3-minimal",
    "python3.11",
    "python3.11-minimal",
    "readline-common",
  ],
  // Metadata-only images (release file + oem-release), as in Flatcar.
  "oem-qemu": [],
  "oem-openstack": [],
};

/** The package whose version becomes SYSEXT_VERSION_ID (matches versionFrom in the specs). */
export const OEM_MAIN_PACKAGE: Readonly<Record<string, string | undefined>> = {
  "oem-vmware": "open-vm-tools",
  "oem-azure": "waagent",
  "oem-gce": "google-guest-agent",
  "oem-ami": "amazon-ec2-utils",
  "oem-qemu": undefined,
  "oem-openstack": undefined,
};

/** Every package any OEM needs, de-duplicated and sorted (what the example downloads). */
export function allOemPackages(): string[] {
  return [...new Set(Object.values(OEM_PACKAGES).flat())].sort();
}
