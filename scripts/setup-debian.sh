#!/usr/bin/env bash
# The one list of Debian packages sysextkit's example and tests need: installs what is missing (idempotent).
#
#   bash scripts/setup-debian.sh          # as root on Debian 12; apt-get update runs only when something is missing
#
# Each group says who needs it. README command 1 and .ci/run both call this script; add packages here only.
set -euo pipefail

packages=(
  # image backends and readers
  squashfs-tools      # mksquashfs, unsquashfs
  erofs-utils         # mkfs.erofs, fsck.erofs, dump.erofs
  # systemd 252 tools: the real merge and dissect the tests compare against
  systemd             # systemd-sysext
  systemd-container   # systemd-dissect
  util-linux          # unshare
  mount               # mount, umount (loop mounts of erofs images in the tests)
  cryptsetup-bin      # veritysetup
  # the Debian base roots (example and integration tests)
  debootstrap
  ca-certificates
  # package inputs
  binutils            # ar, for test .deb files
  dpkg-dev            # dpkg-architecture and friends
  dpkg apt            # dpkg-deb, dpkg --compare-versions; apt-get download (present on every Debian; listed so
                      # test/project/zero-skips.test.ts finds every package TOOL_PACKAGES names here)
  # compression tools used by sources and payloads
  bzip2 xz-utils zstd gzip tar
  coreutils           # sha256sum, mknod, chroot
  # signatures
  openssl             # independent signature checks in tests
  gpg gpg-agent gpgconf # #9: test OpenPGP keys and gpg --verify of SHA256SUMS.gpg (signing itself uses the openpgp npm package)
  attr                # setfattr/getfattr: xattr tests
  # RPM input and SELinux labels (#10): rpmbuild and rpm (test packages, rpm databases, rpm.vercmp),
  # rpm2cpio + cpio (the reference extraction and the bench), alien (Debian agents as RPMs), getcap
  # (capabilities read back), matchpathcon with a real policy (label cross-check)
  rpm rpm2cpio cpio alien libcap2-bin
  selinux-utils selinux-policy-default
  # sysextkit test (#8): guests under QEMU (TCG, or KVM where it really works), root disks with e2fsprogs
  qemu-system-x86     # qemu-system-x86_64
  qemu-system-arm     # qemu-system-aarch64: the arm64 guest
  qemu-user-static    # the arm64 root: debootstrap's second stage runs in a chroot under qemu-aarch64-static
  binfmt-support      # update-binfmts registers qemu-aarch64-static (F flag) with the kernel's binfmt_misc
  qemu-utils          # qemu-img: qcow2 bases
  e2fsprogs           # mkfs.ext4 -d, debugfs, dumpe2fs, resize2fs, e2fsck
  procps              # ps: the tests look for leftover QEMU processes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup-debian: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-debian: missing packages: ${missing[*]}" >&2
  echo "setup-debian: run this script as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-debian: done"
