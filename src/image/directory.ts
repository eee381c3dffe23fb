// directory backend: the tree written out as a plain directory (for debugging and directory extensions).
import { treeContentSize } from "../tree/tree.js";
import type { BackendOptions } from "./backend.js";
import { stageTree } from "./stage.js";

/** Write `tree` as a directory at exactly `out`, which must not exist yet. */
export async function writeDirectory(
  o: Pick<BackendOptions, "tree" | "out" | "epoch" | "onProgress">,
): Promise<void> {
  const total = treeContentSize(o.tree);
  const onProgress = o.onProgress;
  await stageTree(o.tree, o.out, {
    epoch: o.epoch,
    ...(onProgress ? { onBytes: (n: number) => onProgress(n, total) } : {}),
  });
}
