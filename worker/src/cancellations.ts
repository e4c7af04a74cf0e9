import type { Redis } from "ioredis";
import type { Logger } from "@shell-exec/shared/logger.ts";

/**
 * BullMQ can only cancel a job inside the process running it, and a client's DELETE lands on any API process. So
 * the API publishes the job id on a cancel channel; every worker process hears it, and the one holding the job
 * aborts it. One subscription per worker process serves all its jobs.
 */
export class CancellationRegistry {
  readonly #controllers = new Map<string, AbortController>();
  readonly #subscriber: Redis;
  readonly #channel: string;

  private constructor(subscriber: Redis, channel: string) {
    this.#subscriber = subscriber;
    this.#channel = channel;
  }

  static async start(deps: { subscriber: Redis; channel: string; logger: Logger }): Promise<CancellationRegistry> {
    const registry = new CancellationRegistry(deps.subscriber, deps.channel);
    deps.subscriber.on("message", (channel: string, jobId: string) => {
      if (channel !== deps.channel) return;
      const controller = registry.#controllers.get(jobId);
      if (controller) {
        deps.logger.info({ jobId }, "cancel requested: aborting the running job");
        controller.abort(new Error("canceled by client"));
      }
    });
    await deps.subscriber.subscribe(deps.channel);
    return registry;
  }

  get active(): number {
    return this.#controllers.size;
  }

  register(jobId: string): AbortSignal {
    const controller = new AbortController();
    this.#controllers.set(jobId, controller);
    return controller.signal;
  }

  release(jobId: string): void {
    this.#controllers.delete(jobId);
  }

  async close(): Promise<void> {
    await this.#subscriber.unsubscribe(this.#channel).catch(() => undefined);
  }
}
