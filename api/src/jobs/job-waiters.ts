import type { Redis } from "ioredis";
import type { Logger } from "@shell-exec/shared/logger.ts";

export interface WaitHandle {
  /** Resolves when the job may have changed (it finished, or the subscription was re-established), or at timeout. */
  readonly changed: Promise<void>;
  release(): void;
}

/**
 * All of an API process's waiters share one Redis subscription: workers publish a job id when its job ends, and the
 * registry wakes the waiters of that id. Callers register before they read the job's state, so a job that ends
 * between the read and the wait still wakes them. After a reconnect every waiter is woken to re-read, because
 * messages published while disconnected are lost.
 */
export class JobWaiters {
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #waiting = new Map<string, Set<() => void>>();
  #subscribedOnce = false;

  private constructor(subscriber: Redis, channel: string, logger: Logger) {
    this.#subscriber = subscriber;
    this.#channel = channel;
    this.#logger = logger;
  }

  static async start(deps: { subscriber: Redis; channel: string; logger: Logger }): Promise<JobWaiters> {
    const waiters = new JobWaiters(deps.subscriber, deps.channel, deps.logger);
    deps.subscriber.on("message", (channel: string, jobId: string) => {
      if (channel === deps.channel) waiters.#wake(jobId);
    });
    deps.subscriber.on("ready", () => {
      if (waiters.#subscribedOnce) {
        deps.logger.info("job-finished subscription restored; waking all waiters to re-read");
        waiters.#wakeAll();
      }
    });
    await deps.subscriber.subscribe(deps.channel);
    waiters.#subscribedOnce = true;
    return waiters;
  }

  get size(): number {
    let total = 0;
    for (const set of this.#waiting.values()) total += set.size;
    return total;
  }

  register(jobId: string, timeoutMs: number, signal?: AbortSignal): WaitHandle {
    let release = () => {};
    const changed = new Promise<void>((resolve) => {
      const wake = () => {
        release();
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      const onAbort = () => wake();
      signal?.addEventListener("abort", onAbort, { once: true });
      let set = this.#waiting.get(jobId);
      if (!set) {
        set = new Set();
        this.#waiting.set(jobId, set);
      }
      set.add(wake);
      release = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const current = this.#waiting.get(jobId);
        current?.delete(wake);
        if (current?.size === 0) this.#waiting.delete(jobId);
      };
      if (signal?.aborted) wake();
    });
    return { changed, release: () => release() };
  }

  #wake(jobId: string): void {
    const set = this.#waiting.get(jobId);
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  #wakeAll(): void {
    for (const set of [...this.#waiting.values()]) for (const wake of [...set]) wake();
  }

  async close(): Promise<void> {
    this.#wakeAll();
    try {
      await this.#subscriber.unsubscribe(this.#channel);
    } catch (error) {
      this.#logger.debug({ err: error }, "unsubscribe on close failed");
    }
  }
}
