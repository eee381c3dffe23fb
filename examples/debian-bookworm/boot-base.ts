// The bootable Debian base of the example and the boot tests: packages and the setup run in the new root.
import { readFileSync } from "node:fs";

/** What debootstrap adds to minbase for a base that boots under QEMU (kernel, initramfs, udev for devices). */
export const BOOT_INCLUDE: readonly string[] = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "udev",
  "kmod",
  "initramfs-tools",
];

/** The kernel package per Debian architecture. */
export const KERNEL_PACKAGE: Readonly<Record<string, string>> = {
  amd64: "linux-image-amd64",
  arm64: "linux-image-arm64",
};

const ENSURE_SYSEXT = readFileSync(
  new URL("../../templates/boot/ensure-sysext.service", import.meta.url),
  "utf8",
);

/**
 * Shell run with `chroot ROOT sh -ec` once the root is complete. Debian ships systemd-sysext.service
 * disabled (WantedBy=sysinit.target): a derived image that does not enable it merges nothing at boot.
 * systemd before 255 does not reload units after the merge either: with `ensureSysext`, ensure-sysext.service
 * does (as on Flatcar), else the extensions' Upholds= drop-ins are never seen (255 and later reload by themselves).
 */
export function bootSetup(ensureSysext: boolean): string {
  return [
    "systemctl enable systemd-sysext.service",
    ...(ensureSysext
      ? [
          `cat > /etc/systemd/system/ensure-sysext.service <<'EOF'\n${ENSURE_SYSEXT}EOF`,
          "systemctl enable ensure-sysext.service",
        ]
      : []),
    "echo sysextkit-guest > /etc/hostname",
    // An empty root password: a developer can log in on the serial console of a kept guest.
    "passwd -d root >/dev/null",
    // debootstrap leaves an unconfigured fstab; the kernel command line names the root (mounted rw).
    "printf '# root comes from the kernel command line (root=... rw)\\n' > /etc/fstab",
    // The kernel postinst made the initramfs when initramfs-tools was configured first; make sure.
    "ls /boot/vmlinuz-* >/dev/null",
    "ls /boot/initrd.img-* >/dev/null 2>&1 || update-initramfs -c -k all",
    "ls /boot/initrd.img-* >/dev/null",
  ].join("\n");
}

/** The Debian 12 (systemd 252) bootable base's setup. */
export const BOOT_SETUP = bootSetup(true);
