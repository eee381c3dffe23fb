// What a boot test boots: a root directory or a disk image, its kernel and initrd, and the guest architecture.
import { open, readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { SystemdArch } from "../base/arch.js";
import { SysextError } from "../errors.js";
import { exists } from "../util/fs.js";

export interface BootBase {
  readonly kind: "directory" | "raw" | "qcow2";
  readonly path: string;
  readonly kernel: string;
  readonly initrd: string | undefined;
  readonly arch: SystemdArch;
}

/** Compare version-like strings piecewise (numbers numerically): "6.1.0-9" < "6.1.0-10". */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** The newest `boot/vmlinuz-*` of a root and its `boot/initrd.img-*` (Debian) or `initramfs-*.img`. */
export async function kernelInRoot(root: string): Promise<{ kernel: string; initrd: string | undefined }> {
  const boot = join(root, "boot");
  const names = await readdir(boot).catch(() => [] as string[]);
  const kernels = names.filter((n) => /^vmlinu[xz]-/.test(n)).sort((a, b) => compareVersions(a, b));
  const kernel = kernels.at(-1);
  if (!kernel) {
    throw new SysextError("BASE_INVALID", `no kernel in ${boot} (boot/vmlinuz-VERSION)`, {
      location: { file: root },
      hint: "install a kernel and an initramfs into the base (Debian: linux-image-amd64 initramfs-tools), or pass --kernel and --initrd",
    });
  }
  const version = kernel.replace(/^vmlinu[xz]-/, "");
  for (const candidate of [`initrd.img-${version}`, `initramfs-${version}.img`, `initrd-${version}`]) {
    if (await exists(join(boot, candidate)))
      return { kernel: join(boot, kernel), initrd: join(boot, candidate) };
  }
  return { kernel: join(boot, kernel), initrd: undefined };
}

/**
 * The architecture a kernel image is built for: an x86 bzImage ("HdrS" at 0x202), an arm64 Image
 * ("ARM\x64" at 56), or either of them gzip-compressed.
 */
export async function kernelArch(path: string): Promise<SystemdArch> {
  const fh = await open(path, "r").catch((e: unknown) => {
    throw new SysextError("IO", `cannot read kernel ${path}: ${(e as Error).message}`, {
      cause: e,
      location: { file: path },
      hint: "pass a readable kernel image with --kernel",
    });
  });
  let head: Buffer;
  try {
    head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    try {
      head = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a partial stream is fine */ });
    } catch {
      // fall through to the checks below, which then fail with a clear message
    }
  }
  if (head.length > 0x206 && head.toString("latin1", 0x202, 0x206) === "HdrS") return "x86-64";
  if (head.length > 60 && head.readUInt32LE(56) === 0x644d5241) return "arm64";
  throw new SysextError("BASE_INVALID", `${path} is not an x86-64 bzImage or an arm64 Image`, {
    location: { file: path },
    hint: "pass the kernel the base boots with (boot/vmlinuz-VERSION)",
  });
}

/** Disk image kind by magic: qcow2 ("QFI\xfb") or raw. */
async function diskKind(path: string): Promise<"raw" | "qcow2"> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.toString("latin1") === "QFI\xfb" ? "qcow2" : "raw";
  } finally {
    await fh.close();
  }
}

/** Resolve the base: a root directory (kernel from its /boot unless given) or a disk image plus a kernel. */
export async function resolveBootBase(input: {
  base: string;
  kernel?: string | undefined;
  initrd?: string | undefined;
}): Promise<BootBase> {
  const st = await stat(input.base).catch((e: unknown) => {
    throw new SysextError("BASE_INVALID", `cannot read base ${input.base}: ${(e as Error).message}`, {
      cause: e,
      location: { file: input.base },
      hint: "pass a root directory with a kernel in /boot, or a raw or qcow2 disk image with --kernel",
    });
  });
  let kernel = input.kernel;
  let initrd = input.initrd;
  let kind: BootBase["kind"];
  if (st.isDirectory()) {
    kind = "directory";
    if (!kernel) {
      const found = await kernelInRoot(input.base);
      kernel = found.kernel;
      initrd ??= found.initrd;
    }
  } else if (st.isFile()) {
    kind = await diskKind(input.base);
    if (!kernel) {
      throw new SysextError("USAGE", `the disk image ${basename(input.base)} needs --kernel (and --initrd)`, {
        location: { file: input.base },
        hint: "pass the kernel and initrd the image boots with, e.g. extracted from its /boot",
      });
    }
  } else {
    throw new SysextError("BASE_INVALID", `${input.base} is neither a directory nor a disk image file`, {
      location: { file: input.base },
      hint: "pass a root directory or a raw/qcow2 disk image",
    });
  }
  if (initrd !== undefined && !(await exists(initrd))) {
    throw new SysextError("BASE_INVALID", `initrd ${initrd} does not exist`, {
      location: { file: initrd },
      hint: "pass the initrd that belongs to the kernel with --initrd",
    });
  }
  return Object.freeze({ kind, path: input.base, kernel, initrd, arch: await kernelArch(kernel) });
}
