import { ShellExecError } from "@shell-exec/shared/errors.ts";

export type RateLimitRefusal =
  | { limit: "submit-rate"; retryAfterMs: number; ratePerMinute: number; burst: number }
  | { limit: "jobs-in-flight"; retryAfterMs: number; maxInFlight: number };

function message(refusal: RateLimitRefusal, retryAfterSeconds: number): string {
  if (refusal.limit === "submit-rate") {
    return `Too many submits: this principal may submit ${refusal.ratePerMinute} per minute (bursts of ${refusal.burst}); the next is accepted in ${retryAfterSeconds} s.`;
  }
  return `This principal already has ${refusal.maxInFlight} jobs queued or running, the most allowed; submit again once one ends.`;
}

/**
 * 429: a per-principal limit refused the submit. `Retry-After` is in whole seconds (rounded up, at least 1);
 * `details.retryAfterMs` is the exact wait for the rate limit.
 */
export class RateLimitedError extends ShellExecError {
  constructor(refusal: RateLimitRefusal) {
    const retryAfterSeconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
    super("RATE_LIMITED", 429, message(refusal, retryAfterSeconds), { details: refusal, retryAfterSeconds });
  }
}
