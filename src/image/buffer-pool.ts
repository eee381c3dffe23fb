// Reused buffers for streaming file contents: slabs handed out in slices, recycled once every slice is written.

const SLAB = 2 << 20;
/** Free slabs kept for reuse; more in flight than this are simply left to the garbage collector. */
const KEEP = 4;

interface Slab {
  readonly buf: Buffer;
  used: number;
  live: number;
}

/**
 * Slices of a few 2 MiB slabs for file contents on their way into a pipe. A slab is reused when every
 * slice cut from it has been released (its write completed). Without this, each file read allocates a
 * fresh buffer and tens of MiB of written-out buffers wait for the next garbage collection, which shows
 * as resident memory of the build process.
 */
export class BufferPool {
  readonly #owner = new WeakMap<Buffer, Slab>();
  readonly #free: Slab[] = [];
  #current: Slab | undefined;

  /** A buffer of exactly `size` bytes (at most 2 MiB) to read into; release it after it has been written. */
  take(size: number): Buffer {
    if (size === 0) return Buffer.alloc(0);
    if (size > SLAB) return Buffer.allocUnsafe(size);
    let s = this.#current;
    if (!s || s.used + size > SLAB) {
      if (s) this.#retire(s);
      s = this.#free.pop() ?? { buf: Buffer.allocUnsafe(SLAB), used: 0, live: 0 };
      this.#current = s;
    }
    const slice = s.buf.subarray(s.used, s.used + size);
    s.used += (size + 7) & ~7;
    s.live++;
    this.#owner.set(slice, s);
    return slice;
  }

  /** Give back a buffer from `take` (anything else is ignored). */
  release(buf: Buffer): void {
    const s = this.#owner.get(buf);
    if (!s) return;
    this.#owner.delete(buf);
    s.live--;
    if (s.live > 0) return;
    if (s === this.#current)
      s.used = 0; // nothing cut from it is in flight: start it over
    else this.#retire(s);
  }

  #retire(s: Slab): void {
    if (s === this.#current) this.#current = undefined;
    if (s.live > 0) return; // released later, by its last slice
    s.used = 0;
    if (this.#free.length < KEEP && !this.#free.includes(s)) this.#free.push(s);
  }
}
