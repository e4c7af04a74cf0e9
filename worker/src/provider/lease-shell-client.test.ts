import { createHash, randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import type { ExecOutcome, LeaseShellRequest, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { createClientCertificate } from "@shell-exec/shared/tls/self-signed.ts";
import { startTestSim, freshWallet, TEST_DSEQ, type TestSim } from "../../../akash-sim/src/testing/fixture.ts";
import { providerToken } from "../../../akash-sim/src/testing/shell-client.ts";
import { LeaseShellClient } from "./lease-shell-client.ts";
import { getLeaseStatus } from "./lease-status-client.ts";
import { checkServiceReady } from "./service-readiness.ts";

/**
 * The provider client against akash-sim: a provider gateway over HTTPS with its self-signed certificate published
 * on chain, ES256K JWT and mTLS auth, real child processes per replica, and fault injection.
 */

let t: TestSim;
let pinned: ProviderTlsPolicy;
const client = new LeaseShellClient({ logger: pino({ level: "silent" }) });

beforeAll(async () => {
  t = await startTestSim({ pingIntervalMs: 100 });
  pinned = { onChainCertificatesPem: [t.ca] };
});
afterAll(async () => {
  await t.sim.stop();
});
afterEach(async () => {
  await t.sim.setFault({ provider: t.provider }, null);
  await t.sim.setFault(t.lease, null);
});

function request(patch: Partial<LeaseShellRequest> = {}): LeaseShellRequest {
  return {
    hostUri: t.url,
    ...t.lease,
    service: "web",
    podIndex: 0,
    argv: ["sh", "-c", "echo hi"],
    auth: { kind: "jwt", token: t.token() },
    tls: pinned,
    deadlineMs: 15_000,
    maxOutputBytes: 1024 * 1024,
    connectTimeoutMs: 5_000,
    ...patch,
  };
}

function describeOutcome(outcome: ExecOutcome): string {
  return JSON.stringify({ ...outcome, stdout: outcome.stdout.subarray(0, 200).toString(), stderr: outcome.stderr.subarray(0, 200).toString() });
}

function expectExited(outcome: ExecOutcome, exitCode: number): void {
  expect(outcome.kind, describeOutcome(outcome)).toBe("exited");
  if (outcome.kind === "exited") expect(outcome.exitCode).toBe(exitCode);
}

function expectError(outcome: ExecOutcome, code: string, commandMayHaveRun: boolean): Extract<ExecOutcome, { kind: "error" }> {
  expect(outcome.kind, describeOutcome(outcome)).toBe("error");
  if (outcome.kind !== "error") throw new Error("unreachable");
  expect({ code: outcome.code, commandMayHaveRun: outcome.commandMayHaveRun }).toEqual({ code, commandMayHaveRun });
  return outcome;
}

function countingBeforeSend(): { calls: number; beforeSend: () => Promise<void> } {
  const counter = { calls: 0, beforeSend: () => Promise.resolve(void (counter.calls += 1)) };
  return counter;
}

describe("running commands", () => {
  it("returns stdout, stderr and the exit code, over HTTPS with the on-chain certificate", async () => {
    const outcome = await client.exec(request({ argv: ["sh", "-c", "echo hi; echo oops 1>&2; exit 3"] }));
    expectExited(outcome, 3);
    expect(outcome.stdout.toString()).toBe("hi\n");
    expect(outcome.stderr.toString()).toBe("oops\n");
    expect(outcome).toMatchObject({ stdoutBytes: 3, stderrBytes: 5, truncated: false });
    expect(outcome.durationMs).toBeGreaterThan(0);
  });

  it("reports zero and non-zero exits, and 128+n for a signal", async () => {
    expectExited(await client.exec(request({ argv: ["true"] })), 0);
    expectExited(await client.exec(request({ argv: ["sh", "-c", "exit 42"] })), 42);
    expectExited(await client.exec(request({ argv: ["sh", "-c", "kill -9 $$"] })), 137);
  });

  it("delivers non-UTF-8 output byte for byte", async () => {
    const outcome = await client.exec(request({ argv: ["printf", "\\377\\000\\376\\200\\303\\050"] }));
    expectExited(outcome, 0);
    expect(outcome.stdout).toEqual(Buffer.from([0xff, 0x00, 0xfe, 0x80, 0xc3, 0x28]));
  });

  it("keeps 1 MiB of 5 MB per stream, counts every byte, and still collects the exit code", async () => {
    const outcome = await client.exec(
      request({ argv: ["sh", "-c", "head -c 5242880 /dev/zero; head -c 3000000 /dev/zero | tr '\\0' e >&2; exit 7"] }),
    );
    expectExited(outcome, 7);
    expect(outcome).toMatchObject({ stdoutBytes: 5_242_880, stderrBytes: 3_000_000, truncated: true });
    expect(outcome.stdout.equals(Buffer.alloc(1024 * 1024))).toBe(true);
    expect(outcome.stderr.equals(Buffer.alloc(1024 * 1024, "e"))).toBe(true);
  });

  it("delivers stdin exactly (1 MiB of random bytes, read to an exact count)", async () => {
    const stdin = randomBytes(1024 * 1024);
    const outcome = await client.exec(request({ argv: ["sh", "-c", `head -c ${stdin.length} | sha256sum`], stdin }));
    expectExited(outcome, 0);
    expect(outcome.stdout.toString().split(" ")[0]).toBe(createHash("sha256").update(stdin).digest("hex"));
  });

  it("echoes stdin back unchanged", async () => {
    const stdin = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x0d, 0x1b]);
    const outcome = await client.exec(request({ argv: ["head", "-c", String(stdin.length)], stdin }));
    expectExited(outcome, 0);
    expect(outcome.stdout).toEqual(stdin);
  });

  it("runs on the pod index asked for", async () => {
    const zero = await client.exec(request({ argv: ["sh", "-c", "echo $HOSTNAME"], podIndex: 0 }));
    const one = await client.exec(request({ argv: ["sh", "-c", "echo $HOSTNAME"], podIndex: 1 }));
    expect(zero.stdout.toString()).toMatch(/-0\n$/);
    expect(one.stdout.toString()).toMatch(/-1\n$/);
  });

  it("calls beforeSend exactly once per exec", async () => {
    const counter = countingBeforeSend();
    expectExited(await client.exec(request({ argv: ["true"], beforeSend: counter.beforeSend })), 0);
    expect(counter.calls).toBe(1);
  });

  it("authenticates with an mTLS client certificate published on chain", async () => {
    const certificate = createClientCertificate({ address: t.owner.address });
    t.sim.addCertificate({ owner: t.owner.address, pem: certificate.certPem });
    const outcome = await client.exec(request({ argv: ["echo", "mtls"], auth: { kind: "mtls", certPem: certificate.certPem, keyPem: certificate.keyPem } }));
    expectExited(outcome, 0);
    expect(outcome.stdout.toString()).toBe("mtls\n");
  });
});

describe("provider errors in the result frame", () => {
  it("an unknown service is SERVICE_NOT_FOUND, not exit 0", async () => {
    const outcome = expectError(await client.exec(request({ service: "nope" })), "SERVICE_NOT_FOUND", false);
    expect(outcome.providerMessage).toBe("kube: no service for that lease");
  });

  it("a service with no ready replica is NO_READY_REPLICA", async () => {
    expectError(await client.exec(request({ service: "idle" })), "NO_READY_REPLICA", false);
  });

  it("a pod index out of range and a missing executable never ran", async () => {
    expectError(await client.exec(request({ podIndex: 5 })), "PROVIDER_EXEC_FAILED", false);
    expectError(await client.exec(request({ argv: ["no-such-command-here"] })), "PROVIDER_EXEC_FAILED", false);
  });

  it("a lease the provider has no manifest for answers a bare exit 0; its lease status says LEASE_GONE", async () => {
    const lease = { dseq: TEST_DSEQ, gseq: 2, oseq: 1 };
    expectExited(await client.exec(request({ ...lease, argv: ["echo", "never"] })), 0);
    const status = await getLeaseStatus({ hostUri: t.url, ...lease, auth: { kind: "jwt", token: t.token() }, tls: pinned, timeoutMs: 5_000 });
    expect(status).toMatchObject({ ok: false, code: "LEASE_GONE", httpStatus: 404 });
  });

  it("lease status over HTTPS tells which services can run", async () => {
    const status = await getLeaseStatus({ hostUri: t.url, ...t.lease, auth: { kind: "jwt", token: t.token() }, tls: pinned, timeoutMs: 5_000 });
    expect(status.ok).toBe(true);
    if (!status.ok) return;
    expect(checkServiceReady(status.status, "web", 1)).toEqual({ ok: true });
    expect(checkServiceReady(status.status, "idle", 0)).toMatchObject({ ok: false, code: "NO_READY_REPLICA" });
    expect(checkServiceReady(status.status, "nope", 0)).toMatchObject({ ok: false, code: "SERVICE_NOT_FOUND" });
  });
});

describe("authentication and TLS", () => {
  it("a 401 from the provider is PROVIDER_AUTH_FAILED with its status and message", async () => {
    const stranger = freshWallet(); // not on chain: the provider cannot verify its token
    const token = providerToken({ wallet: stranger, provider: t.provider });
    const counter = countingBeforeSend();
    const outcome = expectError(await client.exec(request({ auth: { kind: "jwt", token }, beforeSend: counter.beforeSend })), "PROVIDER_AUTH_FAILED", false);
    expect(outcome.httpStatus).toBe(401);
    expect(outcome.providerMessage).toMatch(/JWT/);
    expect(counter.calls).toBe(1);
  });

  it("a token without the shell scope is refused", async () => {
    const outcome = expectError(await client.exec(request({ auth: { kind: "jwt", token: t.token(["status"]) } })), "PROVIDER_AUTH_FAILED", false);
    expect(outcome.httpStatus).toBe(401);
  });

  it("refuses the provider's certificate when it is not on chain, before anything is sent", async () => {
    const counter = countingBeforeSend();
    const outcome = await client.exec(request({ tls: { onChainCertificatesPem: [] }, beforeSend: counter.beforeSend }));
    expectError(outcome, "PROVIDER_TLS_UNTRUSTED", false);
    expect(counter.calls).toBe(0);
    const impostor = createClientCertificate({ address: t.owner.address });
    expectError(await client.exec(request({ tls: { onChainCertificatesPem: [impostor.certPem] } })), "PROVIDER_TLS_UNTRUSTED", false);
  });

  it("accepts any certificate with insecureSkipVerify", async () => {
    expectExited(await client.exec(request({ argv: ["true"], tls: { onChainCertificatesPem: [], insecureSkipVerify: true } })), 0);
  });
});

describe("faults", () => {
  it("refused connection: PROVIDER_UNREACHABLE, not run, beforeSend never called", async () => {
    await t.sim.setFault({ provider: t.provider }, { kind: "refuse" });
    const counter = countingBeforeSend();
    expectError(await client.exec(request({ beforeSend: counter.beforeSend })), "PROVIDER_UNREACHABLE", false);
    expect(counter.calls).toBe(0);
  });

  it("stall before the upgrade: PROVIDER_UNREACHABLE, may have run", async () => {
    await t.sim.setFault(t.lease, { kind: "stall" });
    const counter = countingBeforeSend();
    const started = performance.now();
    expectError(await client.exec(request({ connectTimeoutMs: 500, beforeSend: counter.beforeSend })), "PROVIDER_UNREACHABLE", true);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(counter.calls).toBe(1);
  });

  it("reset on the request: PROVIDER_UNREACHABLE, may have run", async () => {
    await t.sim.setFault(t.lease, { kind: "reset" });
    expectError(await client.exec(request()), "PROVIDER_UNREACHABLE", true);
  });

  it("401 on the upgrade: PROVIDER_AUTH_FAILED with the provider's message", async () => {
    await t.sim.setFault(t.lease, { kind: "reject", status: 401, body: '{"message":"JWT is expired"}', contentType: "application/json" });
    const outcome = expectError(await client.exec(request()), "PROVIDER_AUTH_FAILED", false);
    expect(outcome).toMatchObject({ httpStatus: 401, providerMessage: "JWT is expired" });
  });

  it("500 on the upgrade: PROVIDER_UNREACHABLE (retryable), not run", async () => {
    await t.sim.setFault(t.lease, { kind: "reject", status: 500, body: "kube: internal error" });
    const outcome = expectError(await client.exec(request()), "PROVIDER_UNREACHABLE", false);
    expect(outcome).toMatchObject({ httpStatus: 500, providerMessage: "kube: internal error" });
  });

  it("400 on the upgrade: PROVIDER_REJECTED", async () => {
    await t.sim.setFault(t.lease, { kind: "reject", status: 400, body: "" });
    expect(expectError(await client.exec(request()), "PROVIDER_REJECTED", false).httpStatus).toBe(400);
  });

  it("hang after the upgrade: timed_out at the deadline, connection closed", async () => {
    await t.sim.setFault(t.lease, { kind: "hang" });
    const started = performance.now();
    const outcome = await client.exec(request({ deadlineMs: 400 }));
    expect(outcome.kind).toBe("timed_out");
    expect(outcome.durationMs).toBeGreaterThanOrEqual(390);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("dropped mid-output: PROVIDER_DISCONNECTED with the output so far", async () => {
    await t.sim.setFault(t.lease, { kind: "drop", afterBytes: 6 });
    const outcome = expectError(await client.exec(request({ argv: ["sh", "-c", "echo first; sleep 0.2; echo second"] })), "PROVIDER_DISCONNECTED", true);
    expect(outcome.stdout.toString()).toBe("first\n");
  });

  it("unknown frame code: PROVIDER_PROTOCOL_ERROR", async () => {
    await t.sim.setFault(t.lease, { kind: "unknown-frame", code: 42 });
    expectError(await client.exec(request({ argv: ["true"] })), "PROVIDER_PROTOCOL_ERROR", true);
  });

  it("text and empty frames are ignored", async () => {
    await t.sim.setFault(t.lease, { kind: "ignorable-frames" });
    const outcome = await client.exec(request({ argv: ["echo", "fine"] }));
    expectExited(outcome, 0);
    expect(outcome.stdout.toString()).toBe("fine\n");
  });

  it("unparsable result frame: PROVIDER_PROTOCOL_ERROR, output kept", async () => {
    await t.sim.setFault(t.lease, { kind: "garbage-result" });
    const outcome = expectError(await client.exec(request({ argv: ["echo", "ran"] })), "PROVIDER_PROTOCOL_ERROR", true);
    expect(outcome.stdout.toString()).toBe("ran\n");
  });

  it("103: PROVIDER_EXEC_FAILED, may have run", async () => {
    await t.sim.setFault(t.lease, { kind: "exec-failure" });
    expectError(await client.exec(request()), "PROVIDER_EXEC_FAILED", true);
  });

  it("drip past the deadline: timed_out with the output so far", async () => {
    await t.sim.setFault(t.lease, { kind: "drip", chunk: "x", intervalMs: 50, count: 1_000 });
    const outcome = await client.exec(request({ deadlineMs: 600 }));
    expect(outcome.kind).toBe("timed_out");
    expect(outcome.stdoutBytes).toBeGreaterThanOrEqual(3);
    expect(outcome.stdout.toString()).toBe("x".repeat(outcome.stdoutBytes));
  });

  it("abort while dripping: canceled at once with the output so far", async () => {
    await t.sim.setFault(t.lease, { kind: "drip", chunk: "y", intervalMs: 50, count: 1_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const outcome = await client.exec(request({ signal: controller.signal }));
    expect(outcome.kind).toBe("canceled");
    expect(outcome.stdoutBytes).toBeGreaterThanOrEqual(3);
    expect(outcome.durationMs).toBeLessThan(2_000);
  });

  it("a 200 MB flood through a 1 MiB cap: exact totals, exit code, memory bounded", async () => {
    const flood = 200 * 1024 * 1024;
    await t.sim.setFault(t.lease, { kind: "flood", bytes: flood, chunkBytes: 32 * 1024, exitCode: 5 });
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const outcome = await client.exec(request({ deadlineMs: 25_000 }));
    clearInterval(sampler);
    expectExited(outcome, 5);
    expect(outcome).toMatchObject({ stdoutBytes: flood, stderrBytes: 0, truncated: true });
    expect(outcome.stdout.length).toBe(1024 * 1024);
    // Sim and client share this process; what is held must be far below the flood (garbage awaiting GC included).
    expect(peak - baseline).toBeLessThan(flood / 2);
  }, 30_000);
});
