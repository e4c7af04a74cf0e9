/** Throws the first error of a pipeline's or transaction's replies (ioredis reports them per command). */
export function assertPipelineSucceeded(replies: [Error | null, unknown][] | null): void {
  if (!replies) throw new Error("Redis pipeline or transaction was discarded");
  for (const [error] of replies) if (error) throw error;
}
