import { describe, expect, it } from "vitest";
import { leaseStatusSchema } from "./lease-status-client.ts";
import { checkServiceReady } from "./service-readiness.ts";

const status = leaseStatusSchema.parse({
  services: {
    web: { name: "web", available: 2, total: 2, uris: null, observed_generation: 1, replicas: 2, updated_replicas: 2, ready_replicas: 2, available_replicas: 2 },
    db: { name: "db", available: 0, total: 1, uris: [], observed_generation: 1, replicas: 1, updated_replicas: 1, ready_replicas: 0, available_replicas: 0 },
    old: { name: "old", available: 1, total: 1 },
    ghost: null,
  },
  forwarded_ports: null,
  ips: null,
});

describe("checkServiceReady", () => {
  it.each([
    ["web", 0, "ok"],
    ["web", 1, "ok"],
    ["web", 2, "NO_READY_REPLICA"],
    ["db", 0, "NO_READY_REPLICA"],
    ["old", 0, "ok"],
    ["ghost", 0, "NO_READY_REPLICA"],
    ["api", 0, "SERVICE_NOT_FOUND"],
    ["toString", 0, "SERVICE_NOT_FOUND"],
  ] as const)("%s pod %i → %s", (service, podIndex, expected) => {
    const readiness = checkServiceReady(status, service, podIndex);
    expect(readiness.ok ? "ok" : readiness.code).toBe(expected);
    if (!readiness.ok) expect(readiness.message).toContain(service);
  });

  it("names the services the lease does have", () => {
    const readiness = checkServiceReady(status, "api", 0);
    expect(!readiness.ok && readiness.message).toMatch(/it has: web, db, old, ghost/);
  });

  it("treats a null services map as no services", () => {
    const empty = leaseStatusSchema.parse({ services: null, forwarded_ports: null });
    expect(checkServiceReady(empty, "web", 0)).toMatchObject({ ok: false, code: "SERVICE_NOT_FOUND" });
  });
});
