// File capabilities: rpm's %caps text (cap_from_text syntax) to the security.capability xattr (vfs_cap_data v2).

/** Capability names by number (linux/capability.h), without the "cap_" prefix. */
const NAMES = [
  "chown",
  "dac_override",
  "dac_read_search",
  "fowner",
  "fsetid",
  "kill",
  "setgid",
  "setuid",
  "setpcap",
  "linux_immutable",
  "net_bind_service",
  "net_broadcast",
  "net_admin",
  "net_raw",
  "ipc_lock",
  "ipc_owner",
  "sys_module",
  "sys_rawio",
  "sys_chroot",
  "sys_ptrace",
  "sys_pacct",
  "sys_admin",
  "sys_boot",
  "sys_nice",
  "sys_resource",
  "sys_time",
  "sys_tty_config",
  "mknod",
  "lease",
  "audit_write",
  "audit_control",
  "setfcap",
  "mac_override",
  "mac_admin",
  "syslog",
  "wake_alarm",
  "block_suspend",
  "audit_read",
  "perfmon",
  "bpf",
  "checkpoint_restore",
] as const;

const ALL = (1n << BigInt(NAMES.length)) - 1n;

function capBit(name: string): bigint | undefined {
  const n = name.toLowerCase();
  if (n === "all") return ALL;
  const bare = n.startsWith("cap_") ? n.slice(4) : n;
  const i = (NAMES as readonly string[]).indexOf(bare);
  if (i >= 0) return 1n << BigInt(i);
  if (/^\d+$/.test(bare) && Number(bare) < 64) return 1n << BigInt(bare);
  return undefined;
}

export interface CapSets {
  readonly effective: bigint;
  readonly permitted: bigint;
  readonly inheritable: bigint;
}

/** Parse cap_from_text syntax ("cap_net_raw,cap_net_admin=ep cap_sys_nice+i"); throws with the reason. */
export function parseCapText(text: string): CapSets {
  const sets = { e: 0n, p: 0n, i: 0n };
  for (const clause of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([^=+-]*)((?:[=+-][eip]*)+)$/i.exec(clause);
    if (!m) throw new Error(`capability clause ${JSON.stringify(clause)} is not NAMES=FLAGS`);
    let mask = 0n;
    if (m[1] === "") mask = ALL;
    else {
      for (const name of m[1]!.split(",")) {
        const bit = capBit(name);
        if (bit === undefined) throw new Error(`unknown capability ${JSON.stringify(name)}`);
        mask |= bit;
      }
    }
    for (const op of m[2]!.match(/[=+-][eip]*/gi)!) {
      const flags = op.slice(1).toLowerCase();
      if (op[0] === "=") {
        sets.e &= ~mask;
        sets.p &= ~mask;
        sets.i &= ~mask;
      }
      for (const f of flags) {
        const k = f as "e" | "p" | "i";
        if (op[0] === "-") sets[k] &= ~mask;
        else sets[k] |= mask;
      }
    }
  }
  return { effective: sets.e, permitted: sets.p, inheritable: sets.i };
}

const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

/**
 * The security.capability value for a capability text (what `setcap TEXT FILE` writes): revision 2,
 * the effective flag, permitted and inheritable in two little-endian 32-bit halves. Undefined when the
 * text grants nothing. Throws when the effective set is neither empty nor permitted|inheritable (files
 * carry one effective bit, as libcap refuses other combinations).
 */
export function capabilityXattr(text: string): Uint8Array | undefined {
  const c = parseCapText(text);
  if (c.permitted === 0n && c.inheritable === 0n && c.effective === 0n) return undefined;
  if (c.effective !== 0n && c.effective !== (c.permitted | c.inheritable))
    throw new Error(
      `the effective set of ${JSON.stringify(text)} must be empty or equal the permitted and inheritable sets`,
    );
  const b = Buffer.alloc(20);
  b.writeUInt32LE(VFS_CAP_REVISION_2 | (c.effective !== 0n ? VFS_CAP_FLAGS_EFFECTIVE : 0), 0);
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  b.writeUInt32LE(lo(c.permitted), 4);
  b.writeUInt32LE(lo(c.inheritable), 8);
  b.writeUInt32LE(hi(c.permitted), 12);
  b.writeUInt32LE(hi(c.inheritable), 16);
  return new Uint8Array(b);
}
