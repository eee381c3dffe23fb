// directory backend: the tree written out as a plain directory (for debugging and directory extensions).
import type { Tree } from "../tree/tree.js";
import { treeContentSize } from "../tree/tree.js";
import { stageTree } from "./stage.js";

/** Write `tree` as a directory at exactly `out`, which must not exist yet. */
export async function writeDirectory(o: {
  tree: Tree;
  out: string;
  epoch: number;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}): Promise<void> {
  const total = treeContentSize(o.tree);
  const onProgress = o.onProgress;
  await stageTree(o.tree, o.out, {
    epoch: o.epoch,
    ...(onProgress ? { onBytes: (n: number) => onProgress(n, total) } : {}),
  });
}
