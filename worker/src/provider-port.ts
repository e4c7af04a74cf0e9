import type { Logger } from "@shell-exec/shared/logger.ts";
import type { ProviderPort } from "./exec-processor.ts";
import { checkLeaseReadiness, LeaseShellClient, LeaseStatusCache } from "./provider/index.ts";

/**
 * The processor's view of a provider: exec through the lease shell, and a lease-status check first, cached for a few
 * seconds per lease and credentials (a batch of execs on one lease asks once), because the provider answers an exec
 * on a lease it has no manifest for with a bare exit 0 that looks like success.
 */
export function createProviderPort(deps: { logger: Logger; connectTimeoutMs?: number }): ProviderPort {
  const client = new LeaseShellClient({ logger: deps.logger, defaultConnectTimeoutMs: deps.connectTimeoutMs });
  const statuses = new LeaseStatusCache({ ttlMs: 3_000, maxEntries: 5_000 });
  return {
    exec: (request) => client.exec(request),
    checkLease: (input) => checkLeaseReadiness(statuses, input),
  };
}
