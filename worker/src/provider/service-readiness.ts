import type { LeaseStatus } from "./lease-status-client.ts";

export type ServiceReadiness =
  | { ok: true }
  | { ok: false; code: "SERVICE_NOT_FOUND" | "NO_READY_REPLICA"; message: string };

/**
 * Whether a lease-shell exec on `service`/`podIndex` can run, judged from the lease status before anything is sent.
 * The provider answers an exec on a lease it has no manifest for with a bare `{"exit_code":0}`, indistinguishable
 * from success, so this check is what catches it. A pod index past the replica count is refused here too; a pod
 * index below it is left to the provider (the status does not say which replica is the ready one).
 */
export function checkServiceReady(status: LeaseStatus, service: string, podIndex: number): ServiceReadiness {
  const entry = Object.hasOwn(status.services, service) ? status.services[service] : undefined;
  if (entry === undefined) {
    const known = Object.keys(status.services);
    return {
      ok: false,
      code: "SERVICE_NOT_FOUND",
      message: `The lease has no service "${service}"${known.length > 0 ? ` (it has: ${known.slice(0, 20).join(", ")})` : ""}.`,
    };
  }
  if (entry === null) return { ok: false, code: "NO_READY_REPLICA", message: `The provider reports no status for service "${service}".` };
  const ready = entry.ready_replicas ?? entry.available;
  if (ready === 0) {
    return { ok: false, code: "NO_READY_REPLICA", message: `Service "${service}" has no ready replica (${entry.available}/${entry.total} available).` };
  }
  const replicas = Math.max(entry.total, entry.replicas ?? 0);
  if (podIndex >= replicas) {
    return {
      ok: false,
      code: "NO_READY_REPLICA",
      message: `Service "${service}" has ${replicas} replica${replicas === 1 ? "" : "s"}: pod index ${podIndex} is out of range.`,
    };
  }
  return { ok: true };
}
