// The boot proof of signed DDIs, as data for the boot test of #8 (bootTest with the trixie-boot root).
//
// Each case boots Debian 13 (its own kernel, systemd 257) with one DDI as
// /var/lib/extensions/hello-ddi.raw, the signer's certificate in /etc/verity.d and the strict policy
// drop-in from `sysextkit trust`, then runs GUEST_COMMANDS and compares what the guest says with the case.

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

export const BOOT_CASES: readonly BootCase[] = [
  {
    name: "signed by the trusted certificate: merged, dm-verity active with our root hash",
    image: "signed",
    merged: true,
    evidence: [/verity/, /hello from a signed DDI/],
  },
  {
    name: "signed by another key: refused",
    image: "other-key",
    merged: false,
    evidence: [/sig|verity|policy|denied|ENOKEY|key/i],
  },
  {
    name: "unsigned: refused by the policy",
    image: "unsigned",
    merged: false,
    evidence: [/policy|signed|denied/i],
  },
  {
    name: "a flipped byte in the file system's first block: refused at mount",
    image: "flipped-superblock",
    merged: false,
    evidence: [/verity|I\/O error|corrupt/i],
  },
  {
    name: "a flipped byte in file data: merged, but reading that block fails with a dm-verity error",
    image: "flipped-data",
    merged: true,
    evidence: [/verity.*corrupt|Input\/output error/i],
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
