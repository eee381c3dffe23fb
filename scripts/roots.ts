// Named Debian roots the example and tests use (newer systemd via chroot, bootable guests), made once by debootstrap and cached.
import { join } from "node:path";
import { ensureBase, type BaseOptions } from "../examples/debian-bookworm/debs.js";
import { BASE_INCLUDE } from "../examples/debian-bookworm/packages.js";
import {
  BOOT_INCLUDE,
  BOOT_SETUP,
  bootSetup,
  KERNEL_PACKAGE,
} from "../examples/debian-bookworm/boot-base.js";
import { secondStageInChroot } from "../examples/debian-bookworm/foreign-root.js";
import { defaultCacheDir } from "../src/util/cache.js";

/**
 * Every root a test may ask for, by name. `.ci/run` makes them up front (scripts/setup-roots.ts) so the
 * tests do not spend their time in debootstrap; a test that runs first locally makes its own.
 */
export const ROOTS = {
  /** Debian 12 minbase + systemd: the example's base release and the catalog test's merge root. */
  "bookworm-systemd": { suite: "bookworm", include: BASE_INCLUDE },
  /** Debian 12 minbase: stands in for the node:20-bookworm-slim image the container example builds on (#12). */
  "bookworm-slim": { suite: "bookworm" },
  /**
   * Debian 12 that boots under QEMU (#8): kernel + initramfs in /boot, udev, systemd-sysext.service
   * enabled. The base of `sysextkit test` in the example and the boot tests.
   */
  "bookworm-boot": {
    suite: "bookworm",
    include: [...BOOT_INCLUDE, KERNEL_PACKAGE.amd64!],
    setup: BOOT_SETUP,
  },
  /** Debian 13: systemd 257 (sysext, dissect, repart --make-ddi, sysupdate, systemd-pull). */
  "trixie-tools": {
    suite: "trixie",
    include: [
      "systemd",
      "dbus",
      "systemd-container",
      "systemd-repart",
      "erofs-utils",
      "squashfs-tools",
      "cryptsetup-bin",
      "openssl",
      "gpg",
      "ca-certificates",
    ],
  },
  /** Debian unstable: the newest systemd (262 when written). */
  "sid-tools": {
    suite: "sid",
    include: [
      "systemd",
      "dbus",
      "systemd-container",
      "systemd-repart",
      "erofs-utils",
      "squashfs-tools",
      "cryptsetup-bin",
      "openssl",
      "gpg",
      "ca-certificates",
    ],
  },
  /**
   * Debian 13 that boots under QEMU with its own kernel (#7's boot proof of signed DDIs): kernel and
   * initramfs in /boot, udev, device-mapper and cryptsetup (dm-verity, veritysetup/dmsetup for the probe),
   * systemd-sysext.service enabled. The verity.d certificate and policy drop-in are added per test.
   */
  "trixie-boot": {
    suite: "trixie",
    include: [
      "systemd",
      "systemd-sysv",
      "systemd-container",
      "dbus",
      "udev",
      "kmod",
      "initramfs-tools",
      "linux-image-amd64",
      "cryptsetup-bin",
      "dmsetup",
    ],
    // systemd 257 reloads the service manager after the merge by itself: no ensure-sysext.service.
    setup: bootSetup(false),
  },
  /**
   * Bootable Debian 12 for arm64 (#8), booted with qemu-system-aarch64 (TCG): debootstrap --foreign here,
   * the second stage and the setup in a chroot under qemu-aarch64-static (binfmt_misc, mounted and
   * registered when missing). Its initramfs holds only the virtio disk and ext4 modules.
   */
  "bookworm-boot-arm64": {
    suite: "bookworm",
    arch: "arm64",
    include: [...BOOT_INCLUDE, KERNEL_PACKAGE.arm64!],
    setup: BOOT_SETUP,
    secondStage: (partial: string, setup: string | undefined) =>
      secondStageInChroot(partial, "arm64", setup, (l) => process.stderr.write(`${l}\n`)),
  },
} as const satisfies Record<string, BaseOptions>;

export type RootName = keyof typeof ROOTS;

/** Path of a named root under the cache, made now when it is not there yet (needs root and the mirror). */
export async function ensureRoot(name: RootName): Promise<string> {
  return ensureBase(join(defaultCacheDir(), "bases", name), ROOTS[name]);
}
