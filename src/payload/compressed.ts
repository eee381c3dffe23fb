// Plain compressed payloads (`.raw.zst`, `.raw.xz`, `.raw.gz`) with deterministic flags, streamed via the CLIs.
import { basename, join } from "node:path";
import { SysextError } from "../errors.js";
import { requireTool, spawnTool } from "../util/exec.js";
import { digestFile, withAtomicOutput, type FileDigest } from "../util/fs.js";
import { imageFileSize } from "./image-io.js";

export type CompressionKind = "zst" | "xz" | "gz";

/**
 * Deterministic settings: single-threaded so the output never depends on the core count.
 * zstd -19 (long-term archive level), xz -6 (the default preset; -9 needs ~670 MiB), gzip -9 -n (no name, no time).
 */
const TOOLS: Record<CompressionKind, { tool: string; args: string[] }> = {
  zst: { tool: "zstd", args: ["-19", "-T1", "-q", "-c", "--no-progress"] },
  xz: { tool: "xz", args: ["-6", "-T1", "-c", "--check=crc64"] },
  gz: { tool: "gzip", args: ["-9", "-n", "-c"] },
};

export interface CompressedPayloadResult extends FileDigest {
  readonly file: string;
  readonly kind: CompressionKind;
}

/** Compress `image` into `<outDir>/<image file name>.<kind>` (e.g. `oem-azure.raw.zst`), atomically. */
export async function createCompressedPayload(
  image: string,
  outDir: string,
  kind: CompressionKind,
): Promise<CompressedPayloadResult> {
  const spec = TOOLS[kind];
  if (!spec) {
    throw new SysextError("USAGE", `unknown compression ${JSON.stringify(kind)}`, {
      hint: "use zst, xz or gz",
    });
  }
  await imageFileSize(image);
  const bin = await requireTool(spec.tool);
  const name = basename(image).endsWith(".raw") ? basename(image) : `${basename(image)}.raw`;
  const file = join(outDir, `${name}.${kind}`);
  await withAtomicOutput(file, async (tmp) => {
    try {
      await spawnTool(bin, spec.args, { inputFile: image, stdout: { file: tmp }, stderr: "pipe" });
    } catch (e) {
      const stderr = (e as { stderr?: unknown }).stderr;
      throw new SysextError(
        "TOOL_FAILED",
        `${spec.tool} failed on ${image}: ${String(stderr ?? "").trim()}`,
        {
          cause: e,
          location: { file: image },
          hint: `the command was: ${spec.tool} ${spec.args.join(" ")} < ${image}`,
        },
      );
    }
  });
  return { file, kind, ...(await digestFile(file)) };
}
