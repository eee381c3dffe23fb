// Bounded parallel work with in-order delivery: N workers, a read-ahead window, results consumed in order.
import { availableParallelism } from "node:os";

/** Number of parallel workers: os.availableParallelism(), at least 1. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** A counting semaphore limiting how many tasks run at once. */
function semaphore(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

export interface OrderedPipeline<T, R> {
  readonly count: number;
  readonly workers: number;
  /** Produce item i (called strictly in order, one at a time). */
  readonly produce: (index: number) => Promise<T>;
  /** Transform an item; up to `workers` run at once. */
  readonly work: (item: T, index: number) => Promise<R>;
  /** Consume results strictly in index order. */
  readonly consume: (result: R, item: T, index: number) => Promise<void>;
}

/**
 * Run produce -> work -> consume over `count` items. At most `2 * workers` items are held at once
 * (memory stays bounded), at most `workers` run `work` concurrently, and `consume` sees them in order.
 */
export async function runOrdered<T, R>(p: OrderedPipeline<T, R>): Promise<void> {
  const limit = semaphore(p.workers);
  const window = Math.max(2, p.workers * 2);
  const pending: Array<Promise<{ item: T; result: R; index: number }>> = [];
  const drainOne = async () => {
    const head = pending.shift();
    if (!head) return;
    const { item, result, index } = await head;
    await p.consume(result, item, index);
  };
  try {
    for (let i = 0; i < p.count; i++) {
      const item = await p.produce(i);
      const job = limit(() => p.work(item, i)).then((result) => ({ item, result, index: i }));
      job.catch(() => undefined); // observed later by drainOne; avoid unhandled rejection warnings
      pending.push(job);
      if (pending.length >= window) await drainOne();
    }
    while (pending.length > 0) await drainOne();
  } finally {
    // Let in-flight work finish before the caller cleans up temporary files.
    await Promise.allSettled(pending);
  }
}
