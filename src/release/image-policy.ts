// systemd image policies (systemd.image-policy(7)): parsing, and whether an image's protection satisfies one.
import { SysextError } from "../errors.js";

export type ProtectionFlag =
  "unprotected" | "verity" | "signed" | "encrypted" | "encryptedwithintegrity" | "unused" | "absent";

/** Protection flags; encryptedwithintegrity is systemd 262's. */
export const PROTECTION_FLAGS: readonly ProtectionFlag[] = [
  "verity",
  "signed",
  "encrypted",
  "encryptedwithintegrity",
  "unprotected",
  "unused",
  "absent",
];
const FLAGS = PROTECTION_FLAGS;
const DESIGNATORS = [
  "root",
  "usr",
  "home",
  "srv",
  "esp",
  "xbootldr",
  "swap",
  "root-verity",
  "root-verity-sig",
  "usr-verity",
  "usr-verity-sig",
  "tmp",
  "var",
] as const;
/** Flags that do not concern protection: accepted and ignored here. */
const OTHER_FLAGS = new Set([
  "read-only-on",
  "read-only-off",
  "growfs-on",
  "growfs-off",
  "btrfs",
  "erofs",
  "ext4",
  "f2fs",
  "squashfs",
  "vfat",
  "xfs",
]);

export interface ImagePolicy {
  readonly text: string;
  /** Allowed protection per designator; designators not listed use `fallback`. */
  readonly rules: ReadonlyMap<string, ReadonlySet<ProtectionFlag>>;
  readonly fallback: ReadonlySet<ProtectionFlag>;
}

/** systemd-sysext's default for system extensions (v254+): anything goes for root and /usr. */
export const SYSEXT_DEFAULT_POLICY =
  "root=verity+signed+encrypted+unprotected+absent:usr=verity+signed+encrypted+unprotected+absent";

const usage = (text: string, why: string) =>
  new SysextError("USAGE", `image policy ${JSON.stringify(text)}: ${why}`, {
    hint: "write it like root=signed+absent:usr=signed+absent (see systemd.image-policy(7))",
  });

function parseFlags(text: string, spec: string): Set<ProtectionFlag> {
  const out = new Set<ProtectionFlag>();
  let any = false;
  for (const f of spec.split("+").filter(Boolean)) {
    if (f === "open") FLAGS.forEach((x) => out.add(x));
    else if (f === "ignore") ["unused", "absent"].forEach((x) => out.add(x as ProtectionFlag));
    else if ((FLAGS as readonly string[]).includes(f)) out.add(f as ProtectionFlag);
    else if (!OTHER_FLAGS.has(f)) throw usage(text, `unknown flag ${JSON.stringify(f)}`);
    else continue;
    any = true;
  }
  // No protection flag at all means "open" (systemd.image-policy(7)).
  if (!any) FLAGS.forEach((x) => out.add(x));
  return out;
}

/** Parse a policy string: "*", "-", "~", or designator=flags joined by ":" ("=flags" sets the default). */
export function parseImagePolicy(text: string): ImagePolicy {
  const special: Record<string, string> = { "*": "=open", "-": "=unused+absent", "~": "=absent" };
  const body = special[text] ?? text;
  const rules = new Map<string, Set<ProtectionFlag>>();
  let fallback: Set<ProtectionFlag> = new Set(["unused", "absent"]);
  for (const part of body.split(":").filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw usage(text, `${JSON.stringify(part)} has no "="`);
    const name = part.slice(0, eq);
    const flags = parseFlags(text, part.slice(eq + 1));
    if (name === "") fallback = flags;
    else if (!(DESIGNATORS as readonly string[]).includes(name))
      throw usage(text, `unknown partition ${JSON.stringify(name)}`);
    else if (rules.has(name)) throw usage(text, `${name} is listed twice`);
    else rules.set(name, flags);
  }
  return { text, rules, fallback };
}

/** What protection an image offers its root file system (sysext images carry /usr and /opt in "root"). */
export interface ImageProtection {
  /** Highest protection the image could be set up with: signed (signature partition or .p7s), verity, none. */
  readonly offered: "signed" | "verity" | "unprotected";
  /** For a signed image: whether the signature verifies against a trusted certificate (undefined: unknown). */
  readonly signatureTrusted: boolean | undefined;
}

export interface PolicyVerdict {
  readonly ok: boolean;
  /** How systemd would use the image: as signed, as plain verity, unprotected; or refused. */
  readonly usedAs: "signed" | "verity" | "unprotected" | "refused";
  readonly detail: string;
}

/**
 * Whether systemd's dissection accepts the root partition under `policy`. A signed image whose signature
 * is not trusted is refused; but where the policy allows "verity", an unsigned image (or one whose
 * signature partition was stripped) is used as plain verity: the reason never to write verity+signed
 * when you mean signed.
 */
export function evaluatePolicy(policy: ImagePolicy, p: ImageProtection): PolicyVerdict {
  const root = policy.rules.get("root") ?? policy.fallback;
  const usr = policy.rules.get("usr") ?? policy.fallback;
  if (!usr.has("absent")) {
    return {
      ok: false,
      usedAs: "refused",
      detail: "the policy requires a usr partition; a sysext DDI carries /usr in its root partition",
    };
  }
  if (p.offered === "signed") {
    if (p.signatureTrusted === false) {
      // Seen with systemd 257 in a Debian 13 guest, under signed+absent and verity+signed+absent alike:
      // "Activation of signed Verity volume worked neither via the kernel nor in userspace, can't activate."
      return {
        ok: false,
        usedAs: "refused",
        detail:
          "its signature is accepted neither by the kernel keyring nor by verity.d, so systemd does not set it up",
      };
    }
    if (root.has("signed")) {
      return {
        ok: true,
        usedAs: "signed",
        detail: p.signatureTrusted
          ? "signed by a trusted certificate"
          : "signed (whether the host trusts the signer was not checked: give --certificate or a host root with verity.d)",
      };
    }
    if (root.has("verity"))
      return {
        ok: true,
        usedAs: "verity",
        detail: "used as plain verity (the policy does not ask for signatures)",
      };
    if (root.has("unprotected"))
      return { ok: true, usedAs: "unprotected", detail: "the policy allows unprotected root partitions" };
    return {
      ok: false,
      usedAs: "refused",
      detail: `the policy allows only root=${[...root].join("+")}`,
    };
  }
  if (p.offered === "verity") {
    if (root.has("verity")) return { ok: true, usedAs: "verity", detail: "dm-verity without a signature" };
    if (root.has("unprotected"))
      return { ok: true, usedAs: "unprotected", detail: "the policy allows unprotected root partitions" };
    return {
      ok: false,
      usedAs: "refused",
      detail: `not signed, and the policy allows only root=${[...root].join("+")}`,
    };
  }
  if (root.has("unprotected"))
    return { ok: true, usedAs: "unprotected", detail: "no dm-verity; the policy allows unprotected images" };
  return {
    ok: false,
    usedAs: "refused",
    detail: `no dm-verity protection, and the policy allows only root=${[...root].join("+")}`,
  };
}
