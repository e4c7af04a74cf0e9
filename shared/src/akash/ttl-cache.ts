/**
 * A small bounded cache with a time-to-live per entry, least-recently-used eviction past `maxEntries`, and
 * single-flight loading: concurrent `getOrLoad` calls for one key share one load.
 */

export interface TtlCacheOptions {
  maxEntries: number;
  /** Milliseconds on a monotonic clock; injected by tests. */
  now?: () => number;
}

/** What a loader returns: the value, and how long to keep it (0 or less: hand it out, keep nothing). */
export interface Loaded<V> {
  value: V;
  ttlMs: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class TtlCache<V> {
  readonly maxEntries: number;
  readonly #now: () => number;
  // A Map iterates in insertion order; re-inserting on every read keeps the least recently used first.
  readonly #entries = new Map<string, Entry<V>>();
  readonly #loading = new Map<string, Promise<V>>();

  constructor(options: TtlCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError("maxEntries must be a positive integer");
    }
    this.maxEntries = options.maxEntries;
    this.#now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    return this.#freshEntry(key)?.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    if (ttlMs <= 0) return;
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
    this.#evictBeyondLimit();
  }

  /** Forgets the key, including a load in flight: its result will not be stored. */
  delete(key: string): void {
    this.#entries.delete(key);
    this.#loading.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#loading.clear();
  }

  /**
   * The cached value, or the result of `load`, which runs at most once at a time per key. A load that throws stores
   * nothing and rejects every caller that was waiting on it.
   */
  getOrLoad(key: string, load: () => Promise<Loaded<V>>): Promise<V> {
    const entry = this.#freshEntry(key);
    if (entry) return Promise.resolve(entry.value);
    const inFlight = this.#loading.get(key);
    if (inFlight) return inFlight;

    // Started from a resolved promise so `loading` is assigned before any callback below can read it, even when
    // `load` throws synchronously.
    const loading: Promise<V> = Promise.resolve()
      .then(load)
      .then((loaded) => {
        if (this.#loading.get(key) === loading) this.set(key, loaded.value, loaded.ttlMs);
        return loaded.value;
      })
      .finally(() => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
      });
    this.#loading.set(key, loading);
    return loading;
  }

  /** The unexpired entry, marked as most recently used; an expired one is dropped. */
  #freshEntry(key: string): Entry<V> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.#now()) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }

  #evictBeyondLimit(): void {
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) return;
      this.#entries.delete(key);
    }
  }
}
