import { TtlCache } from "@shell-exec/shared/akash/ttl-cache.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import type { ProviderPort } from "./exec-processor.ts";
import { LeaseShellClient } from "./provider/lease-shell-client.ts";
import { getLeaseStatus, type LeaseStatusResult } from "./provider/lease-status-client.ts";
import { checkServiceReady } from "./provider/service-readiness.ts";

const STATUS_TTL_MS = 3_000;
const STATUS_TIMEOUT_MS = 10_000;

/**
 * The processor's view of a provider: exec through the lease shell, and a lease-status check first, cached for a few
 * seconds per lease (a batch of execs on one lease asks once), because the provider answers an exec on a lease it
 * has no manifest for with a bare exit 0 that looks like success.
 */
export function createProviderPort(deps: { logger: Logger; connectTimeoutMs?: number }): ProviderPort {
  const client = new LeaseShellClient({ logger: deps.logger, defaultConnectTimeoutMs: deps.connectTimeoutMs });
  const statuses = new TtlCache<LeaseStatusResult>({ maxEntries: 5_000 });
  return {
    exec: (request) => client.exec(request),
    async checkLease(input) {
      const key = `${input.hostUri}|${input.dseq}/${input.gseq}/${input.oseq}`;
      const result = await statuses.getOrLoad(key, async () => {
        const value = await getLeaseStatus({ ...input, timeoutMs: STATUS_TIMEOUT_MS });
        // Only good answers are cached: a failure is asked again next time.
        return { value, ttlMs: value.ok ? STATUS_TTL_MS : 0 };
      });
      if (!result.ok) return { code: result.code, message: result.message, commandMayHaveRun: false };
      const readiness = checkServiceReady(result.status, input.service, input.podIndex);
      return readiness.ok ? null : { code: readiness.code, message: readiness.message, commandMayHaveRun: false };
    },
  };
}
