// DDI constants and the per-architecture partition types of the UAPI Discoverable Partitions Specification.
import type { SystemdArch } from "../../base/arch.js";
import { SysextError } from "../../errors.js";

/** Logical sector size of the GPT (what repart writes for regular files). */
export const SECTOR = 512;
/** Partition alignment, file system and verity block size. */
export const BLOCK = 4096;
/** The first partition starts at 1 MiB (LBA 2048), as libfdisk/repart place it. */
export const FIRST_PARTITION_OFFSET = 1 << 20;
/** Size of the verity signature partition: repart's fixed VERITY_SIG_SIZE (4 x 4096). */
export const SIGNATURE_PARTITION_SIZE = 4 * BLOCK;
/** GPT partition entries: 128 of 128 bytes (32 sectors). */
export const GPT_ENTRIES = 128;
export const GPT_ENTRY_SIZE = 128;
/** GPT partition attribute bit 60: read-only (recommended for verity and signature partitions). */
export const GPT_FLAG_READ_ONLY = 1n << 60n;

export type PartitionRole = "root" | "root-verity" | "root-verity-sig";

export interface ArchPartitionTypes {
  readonly root: string;
  readonly "root-verity": string;
  readonly "root-verity-sig": string;
}

/**
 * Root, root-verity and root-verity-sig partition type UUIDs per systemd architecture, from
 * specs/discoverable_partitions_specification.md (SD_GPT_ROOT_*, *_VERITY, *_VERITY_SIG), limited to
 * the architectures systemd itself maps (`systemd-id128 show` lists them).
 */
export const PARTITION_TYPES: Partial<Record<SystemdArch, ArchPartitionTypes>> = {
  alpha: t(
    "6523f8ae-3eb1-4e2a-a05a-18b695ae656f",
    "fc56d9e9-e6e5-4c06-be32-e74407ce09a5",
    "d46495b7-a053-414f-80f7-700c99921ef8",
  ),
  arc: t(
    "d27f46ed-2919-4cb8-bd25-9531f3c16534",
    "24b2d975-0f97-4521-afa1-cd531e421b8d",
    "143a70ba-cbd3-4f06-919f-6c05683a78bc",
  ),
  arm: t(
    "69dad710-2ce4-4e3c-b16c-21a1d49abed3",
    "7386cdf2-203c-47a9-a498-f2ecce45a2d6",
    "42b0455f-eb11-491d-98d3-56145ba9d037",
  ),
  arm64: t(
    "b921b045-1df0-41c3-af44-4c6f280d3fae",
    "df3300ce-d69f-4c92-978c-9bfb0f38d820",
    "6db69de6-29f4-4758-a7a5-962190f00ce3",
  ),
  ia64: t(
    "993d8d3d-f80e-4225-855a-9daf8ed7ea97",
    "86ed10d5-b607-45bb-8957-d350f23d0571",
    "e98b36ee-32ba-4882-9b12-0ce14655f46a",
  ),
  loongarch64: t(
    "77055800-792c-4f94-b39a-98c91b762bb6",
    "f3393b22-e9af-4613-a948-9d3bfbd0c535",
    "5afb67eb-ecc8-4f85-ae8e-ac1e7c50e7d0",
  ),
  mips: t(
    "e9434544-6e2c-47cc-bae2-12d6deafb44c",
    "7a430799-f711-4c7e-8e5b-1d685bd48607",
    "bba210a2-9c5d-45ee-9e87-ff2ccbd002d0",
  ),
  mips64: t(
    "d113af76-80ef-41b4-bdb6-0cff4d3d4a25",
    "579536f8-6a33-4055-a95a-df2d5e2c42a8",
    "43ce94d4-0f3d-4999-8250-b9deafd98e6e",
  ),
  "mips-le": t(
    "37c58c8a-d913-4156-a25f-48b1b64e07f0",
    "d7d150d2-2a04-4a33-8f12-16651205ff7b",
    "c919cc1f-4456-4eff-918c-f75e94525ca5",
  ),
  "mips64-le": t(
    "700bda43-7a34-4507-b179-eeb93d7a7ca3",
    "16b417f8-3e06-4f57-8dd2-9b5232f41aa6",
    "904e58ef-5c65-4a31-9c57-6af5fc7c5de7",
  ),
  parisc: t(
    "1aacdb3b-5444-4138-bd9e-e5c2239b2346",
    "d212a430-fbc5-49f9-a983-a7feef2b8d0e",
    "15de6170-65d3-431c-916e-b0dcd8393f25",
  ),
  ppc: t(
    "1de3f1ef-fa98-47b5-8dcd-4a860a654d78",
    "98cfe649-1588-46dc-b2f0-add147424925",
    "1b31b5aa-add9-463a-b2ed-bd467fc857e7",
  ),
  ppc64: t(
    "912ade1d-a839-4913-8964-a10eee08fbd2",
    "9225a9a3-3c19-4d89-b4f6-eeff88f17631",
    "f5e2c20c-45b2-4ffa-bce9-2a60737e1aaf",
  ),
  "ppc64-le": t(
    "c31c45e6-3f39-412e-80fb-4809c4980599",
    "906bd944-4589-4aae-a4e4-dd983917446a",
    "d4a236e7-e873-4c07-bf1d-bf6cf7f1c3c6",
  ),
  riscv32: t(
    "60d5a7fe-8e7d-435c-b714-3dd8162144e1",
    "ae0253be-1167-4007-ac68-43926c14c5de",
    "3a112a75-8729-4380-b4cf-764d79934448",
  ),
  riscv64: t(
    "72ec70a6-cf74-40e6-bd49-4bda08e8f224",
    "b6ed5582-440b-4209-b8da-5ff7c419ea3d",
    "efe0f087-ea8d-4469-821a-4c2a96a8386a",
  ),
  s390: t(
    "08a7acea-624c-4a20-91e8-6e0fa67d23f9",
    "7ac63b47-b25c-463b-8df8-b4a94e6c90e1",
    "3482388e-4254-435a-a241-766a065f9960",
  ),
  s390x: t(
    "5eead9a9-fe09-4a1e-a1d7-520d00531306",
    "b325bfbe-c7be-4ab8-8357-139e652d2f6b",
    "c80187a5-73a3-491a-901a-017c3fa953e9",
  ),
  tilegx: t(
    "c50cdd70-3862-4cc3-90e1-809a8c93ee2c",
    "966061ec-28e4-4b2e-b4a5-1f0a825a1d84",
    "b3671439-97b0-4a53-90f7-2d5a8f3ad47b",
  ),
  x86: t(
    "44479540-f297-41b2-9af7-d131d5f0458a",
    "d13c5d3b-b5d1-422a-b29f-9454fdc89d76",
    "5996fc05-109c-48de-808b-23fa0830b676",
  ),
  "x86-64": t(
    "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
    "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
    "41092b05-9fc8-4523-994f-2def0408b176",
  ),
};

function t(root: string, verity: string, sig: string): ArchPartitionTypes {
  return { root, "root-verity": verity, "root-verity-sig": sig };
}

/** The partition types of `arch`, or a FORMAT_UNSUPPORTED error naming the architectures that have them. */
export function partitionTypes(arch: SystemdArch): ArchPartitionTypes {
  const types = PARTITION_TYPES[arch];
  if (!types) {
    throw new SysextError(
      "FORMAT_UNSUPPORTED",
      `the Discoverable Partitions Specification defines no root partition type for ${arch}`,
      {
        location: { field: "image.format" },
        hint: `build a squashfs or erofs image for ${arch} (optionally with verity sidecar files), or a DDI for ${Object.keys(PARTITION_TYPES).join(", ")}`,
      },
    );
  }
  return types;
}

/** The label repart gives a partition without Label=: its type's name, e.g. "root-x86-64-verity". */
export function partitionLabel(arch: SystemdArch, role: PartitionRole): string {
  return role === "root" ? `root-${arch}` : `root-${arch}-${role.slice("root-".length)}`;
}

/** Which architecture and role a partition type UUID stands for (reading images back). */
export function lookupPartitionType(
  typeUuid: string,
): { arch: SystemdArch; role: PartitionRole } | undefined {
  const u = typeUuid.toLowerCase();
  for (const [arch, types] of Object.entries(PARTITION_TYPES) as Array<[SystemdArch, ArchPartitionTypes]>) {
    for (const role of ["root", "root-verity", "root-verity-sig"] as const) {
      if (types[role] === u) return { arch, role };
    }
  }
  return undefined;
}
