import type { CollectedOutput } from "@shell-exec/shared/exec/lease-shell-types.ts";

const INITIAL_CAPACITY = 16 * 1024;

/**
 * One output stream of a lease shell. Keeps at most `maxBytes` (copied into one buffer that grows by doubling up to
 * the cap, so neither the provider's frame count nor its chunk sizes change what is held), and counts every byte
 * received, kept or not. Frames are copied, never retained: a ws frame may be a view into a larger socket read.
 */
export class OutputCollector {
  readonly maxBytes: number;
  #buffer: Buffer = Buffer.alloc(0);
  #kept = 0;
  #total = 0;

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError("maxBytes must be a non-negative integer");
    this.maxBytes = maxBytes;
  }

  push(chunk: Uint8Array): void {
    this.#total += chunk.length;
    const room = this.maxBytes - this.#kept;
    if (room <= 0 || chunk.length === 0) return;
    const take = Math.min(room, chunk.length);
    this.#ensureCapacity(this.#kept + take);
    this.#buffer.set(take === chunk.length ? chunk : chunk.subarray(0, take), this.#kept);
    this.#kept += take;
  }

  /** Every byte received, including those past the cap. */
  get totalBytes(): number {
    return this.#total;
  }

  get keptBytes(): number {
    return this.#kept;
  }

  get truncated(): boolean {
    return this.#total > this.#kept;
  }

  /** The kept bytes, copied to their exact length (the working buffer may be up to twice as large). */
  bytes(): Buffer {
    return Buffer.from(this.#buffer.subarray(0, this.#kept));
  }

  #ensureCapacity(needed: number): void {
    if (needed <= this.#buffer.length) return;
    let capacity = Math.max(this.#buffer.length, Math.min(INITIAL_CAPACITY, this.maxBytes));
    while (capacity < needed) capacity = Math.min(capacity * 2, this.maxBytes);
    const grown = Buffer.allocUnsafe(capacity);
    this.#buffer.copy(grown, 0, 0, this.#kept);
    this.#buffer = grown;
  }
}

export function collectedOutput(stdout: OutputCollector, stderr: OutputCollector): CollectedOutput {
  return {
    stdout: stdout.bytes(),
    stderr: stderr.bytes(),
    stdoutBytes: stdout.totalBytes,
    stderrBytes: stderr.totalBytes,
    truncated: stdout.truncated || stderr.truncated,
  };
}

export function emptyOutput(): CollectedOutput {
  return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutBytes: 0, stderrBytes: 0, truncated: false };
}
