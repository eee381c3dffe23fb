// The boot proof of signed DDIs, as data for the boot test of #8 (bootTest with the trixie-boot root).
//
// Each case boots Debian 13 (its own kernel, systemd 257) with one DDI as
// /var/lib/extensions/hello-ddi.raw, the signer's certificate in /etc/verity.d and the strict policy
// drop-in from `sysextkit trust` (plus SYSTEMD_LOG_LEVEL=debug for systemd-sysext, so the journal says
// why), then runs GUEST_COMMANDS and compares what the guest says with the case.

/** The policy the trust drop-in sets (kept literal here so a change to it shows in this plan). */
export const BOOT_POLICY = "root=signed+absent:usr=signed+absent";

export interface BootCase {
  readonly name: string;
  /** How the image under test is made from the signed one's inputs. */
  readonly image: "signed" | "other-key" | "unsigned" | "flipped-data" | "flipped-superblock";
  /** Whether systemd-sysext must merge it. */
  readonly merged: boolean;
  /** What the guest must show: journal lines for refusals, dm-verity evidence for the merge. */
  readonly evidence: readonly RegExp[];
}

/**
 * The cases, with what a Debian 13 guest (kernel 6.12.117, systemd 257.13) said when they were booted by
 * hand with qemu (TCG) on 2026-11-30, before the boot test existed; the boot test must see the same.
 */
export const BOOT_CASES: readonly BootCase[] = [
  {
    name: "signed by the trusted certificate: merged, dm-verity active with our root hash",
    image: "signed",
    merged: true,
    evidence: [
      /verity: Root hash verification failed \(-ENOKEY\)/, // the kernel keyring does not hold our key...
      /Using extensions 'hello-ddi\.raw'/, // ...systemd's verity.d check does
      /-verity: 0 \d+ verity 1 \S+ \S+ 4096 4096 \d+ 1 sha256 [0-9a-f]{64} [0-9a-f]{64}/, // dmsetup table
      /status:\s+verified/, // veritysetup status
      /hello from a signed DDI/,
    ],
  },
  {
    name: "signed by another key: refused",
    image: "other-key",
    merged: false,
    evidence: [
      /Userspace PKCS#7 validation failed: .*signer certificate not found/,
      /Activation of signed Verity volume worked neither via the kernel nor in userspace/,
    ],
  },
  {
    name: "signed by another key, lax policy verity+signed+absent: refused all the same",
    image: "other-key",
    merged: false,
    evidence: [/Activation of signed Verity volume worked neither via the kernel nor in userspace/],
  },
  {
    name: "unsigned: refused by the policy",
    image: "unsigned",
    merged: false,
    evidence: [/Partition root discovered with policy 'verity' but 'signed\+absent' was required, refusing/],
  },
  {
    name: "a flipped byte in file data: merged, reading that block fails with dm-verity's error",
    image: "flipped-data",
    merged: true,
    evidence: [/device-mapper: verity: \S+: data block \d+ is corrupted/, /Input\/output error/],
  },
  {
    // systemd probes the raw partition for its type before it sets up verity: a damaged superblock is
    // refused there, dm-verity never sees it (byte 12 of the erofs superblock, which sysextkit verify
    // reports as data block 0).
    name: "a flipped byte in the file system's superblock: refused before mounting",
    image: "flipped-superblock",
    merged: false,
    evidence: [/No type detected on partition/, /Failed to mount dissected image/],
  },
];

/** Run in the guest after boot; their output is the evidence. */
export const GUEST_COMMANDS: readonly string[] = [
  "grep -h DM_VERITY /boot/config-*",
  "systemctl cat systemd-sysext.service | grep ^ExecStart=",
  "systemd-sysext status --no-pager",
  "dmsetup table --target verity",
  "for d in $(dmsetup ls --target verity | cut -f1); do veritysetup status $d; done",
  "/usr/bin/hello-ddi",
  "md5sum /usr/share/hello-ddi/data.bin",
  "journalctl -b -u systemd-sysext.service --no-pager -o cat",
  "dmesg | grep -i -E 'verity|device-mapper'",
];
