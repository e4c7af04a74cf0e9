import { describe, expect, it } from "vitest";
import { TtlCache } from "./ttl-cache.ts";

function manualClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("TtlCache", () => {
  it("returns a value until its ttl passes, then nothing", () => {
    const clock = manualClock();
    const cache = new TtlCache<string>({ maxEntries: 10, now: clock.now });
    cache.set("a", "A", 100);
    clock.advance(99);
    expect(cache.get("a")).toBe("A");
    clock.advance(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("keeps nothing for a ttl of zero", () => {
    const cache = new TtlCache<string>({ maxEntries: 10, now: manualClock().now });
    cache.set("a", "A", 0);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("evicts the least recently used entry past maxEntries", () => {
    const cache = new TtlCache<number>({ maxEntries: 3, now: manualClock().now });
    cache.set("a", 1, 1_000);
    cache.set("b", 2, 1_000);
    cache.set("c", 3, 1_000);
    expect(cache.get("a")).toBe(1); // now b is the least recently used
    cache.set("d", 4, 1_000);
    expect(cache.size).toBe(3);
    expect(cache.get("b")).toBeUndefined();
    expect([cache.get("a"), cache.get("c"), cache.get("d")]).toEqual([1, 3, 4]);
  });

  it("stays bounded under many distinct keys", () => {
    const cache = new TtlCache<number>({ maxEntries: 50, now: manualClock().now });
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i, 60_000);
    expect(cache.size).toBe(50);
    expect(cache.get("k9999")).toBe(9999);
    expect(cache.get("k0")).toBeUndefined();
  });

  it("rejects a maxEntries that is not a positive integer", () => {
    expect(() => new TtlCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new TtlCache({ maxEntries: 1.5 })).toThrow(RangeError);
  });

  describe("getOrLoad", () => {
    it("loads once for concurrent callers and serves the cached value afterwards", async () => {
      const clock = manualClock();
      const cache = new TtlCache<string>({ maxEntries: 10, now: clock.now });
      const gate = deferred<void>();
      let loads = 0;
      const load = async () => {
        loads++;
        await gate.promise;
        return { value: `v${loads}`, ttlMs: 100 };
      };
      const callers = Array.from({ length: 100 }, () => cache.getOrLoad("k", load));
      gate.resolve();
      expect(new Set(await Promise.all(callers))).toEqual(new Set(["v1"]));
      expect(loads).toBe(1);

      expect(await cache.getOrLoad("k", load)).toBe("v1");
      expect(loads).toBe(1);
      clock.advance(100);
      expect(await cache.getOrLoad("k", load)).toBe("v2");
      expect(loads).toBe(2);
    });

    it("shares a failure with every waiter, stores nothing, and loads again on the next call", async () => {
      const cache = new TtlCache<string>({ maxEntries: 10, now: manualClock().now });
      const gate = deferred<void>();
      let loads = 0;
      const failing = async (): Promise<{ value: string; ttlMs: number }> => {
        loads++;
        await gate.promise;
        throw new Error("chain down");
      };
      const callers = [cache.getOrLoad("k", failing), cache.getOrLoad("k", failing)];
      gate.resolve();
      for (const caller of callers) await expect(caller).rejects.toThrow("chain down");
      expect(loads).toBe(1);
      expect(cache.size).toBe(0);
      expect(await cache.getOrLoad("k", () => Promise.resolve({ value: "ok", ttlMs: 100 }))).toBe("ok");
    });

    it("turns a loader that throws synchronously into a rejection", async () => {
      const cache = new TtlCache<string>({ maxEntries: 10 });
      await expect(
        cache.getOrLoad("k", () => {
          throw new Error("sync");
        }),
      ).rejects.toThrow("sync");
      expect(cache.get("k")).toBeUndefined();
    });

    it("does not store a load that was in flight when the key was deleted", async () => {
      const cache = new TtlCache<string>({ maxEntries: 10, now: manualClock().now });
      const gate = deferred<void>();
      const stale = cache.getOrLoad("k", async () => {
        await gate.promise;
        return { value: "stale", ttlMs: 1_000 };
      });
      cache.delete("k");
      const fresh = cache.getOrLoad("k", () => Promise.resolve({ value: "fresh", ttlMs: 1_000 }));
      expect(await fresh).toBe("fresh");
      gate.resolve();
      expect(await stale).toBe("stale");
      expect(cache.get("k")).toBe("fresh");
    });

    it("keeps different keys apart", async () => {
      const cache = new TtlCache<string>({ maxEntries: 10 });
      const [a, b] = await Promise.all([
        cache.getOrLoad("a", () => Promise.resolve({ value: "A", ttlMs: 1_000 })),
        cache.getOrLoad("b", () => Promise.resolve({ value: "B", ttlMs: 1_000 })),
      ]);
      expect([a, b]).toEqual(["A", "B"]);
    });
  });
});
