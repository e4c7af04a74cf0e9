import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, startTestStack, webService, type TestStack } from "../stack.ts";

const LEASE = { dseq: "1000", gseq: 1, oseq: 1 };
const REPLICA = { ...LEASE, service: "web", podIndex: 0 };

/** Every way a provider fails maps to a defined job outcome, with commandMayHaveRun telling the truth. */
describe("provider faults, end to end", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ deployments: [{ owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService()] }] }] });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const provider = () => ({ provider: stack.sim.providers[0]!.address });

  it("timeout: the job ends timed_out with the output so far, and the process is gone from the sandbox", async () => {
    const job = await runJob(stack, { service: "web", command: "echo before; sleep 30", timeout: 1 });
    expect(job).toMatchObject({ status: "timed_out", error: { code: "TIMED_OUT", commandMayHaveRun: true }, result: { stdout: "before\n", exitCode: null } });
    expect(await stack.sim.listReplicaProcesses(REPLICA)).toEqual([]);
  });

  it("provider down: PROVIDER_UNREACHABLE after the retries, never sent", async () => {
    await stack.sim.setFault(provider(), { kind: "refuse" });
    try {
      const job = await runJob(stack, { service: "web", command: "true" });
      expect(job).toMatchObject({ status: "error", error: { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false } });
    } finally {
      await stack.sim.setFault(provider(), null);
    }
  });

  it("401 from the provider: PROVIDER_AUTH_FAILED", async () => {
    await stack.sim.setFault(LEASE, { kind: "reject", status: 401, body: '{"message":"unauthorized access"}', contentType: "application/json" });
    try {
      const job = await runJob(stack, { service: "web", command: "true" });
      expect(job).toMatchObject({ status: "error", error: { code: "PROVIDER_AUTH_FAILED", commandMayHaveRun: false } });
    } finally {
      await stack.sim.setFault(LEASE, null);
    }
  });

  it.each([
    ["103 (exec failed)", "PROVIDER_EXEC_FAILED", { kind: "exec-failure" as const }],
    ["a socket dropped mid-output", "PROVIDER_DISCONNECTED", { kind: "drop" as const, afterBytes: 1 }],
    ["a frame with an unknown code", "PROVIDER_PROTOCOL_ERROR", { kind: "unknown-frame" as const }],
    ["a result frame that is not JSON", "PROVIDER_PROTOCOL_ERROR", { kind: "garbage-result" as const }],
  ])("%s: error %s, and the command may have run", async (_label, code, fault) => {
    await stack.sim.setFault(LEASE, fault);
    try {
      const job = await runJob(stack, { service: "web", command: "echo partial; sleep 0.2; echo more" });
      expect(job).toMatchObject({ status: "error", error: { code, commandMayHaveRun: true } });
      expect(job.result).toBeNull();
    } finally {
      await stack.sim.setFault(LEASE, null);
    }
  });

  it("ignores text and empty frames", async () => {
    await stack.sim.setFault(LEASE, { kind: "ignorable-frames" });
    try {
      expect(await runJob(stack, { service: "web", command: "echo fine" })).toMatchObject({ status: "succeeded", result: { stdout: "fine\n" } });
    } finally {
      await stack.sim.setFault(LEASE, null);
    }
  });

  it("two worker processes share the queue and each job runs exactly once", async () => {
    const workers = [await stack.startWorkerProcess(), await stack.startWorkerProcess()];
    try {
      const ids = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const response = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: `echo ${i} >> shared-queue.log` });
          return (response.body as { id: string }).id;
        }),
      );
      for (const id of ids) {
        const done = await stack.request("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=30`);
        expect((done.body as { status: string }).status).toBe("succeeded");
      }
      const { readFile } = await import("node:fs/promises");
      const lines = (await readFile(`${stack.sim.sandboxDir(REPLICA)}/shared-queue.log`, "utf8")).split("\n").filter(Boolean);
      expect(lines).toHaveLength(30);
      expect(new Set(lines).size).toBe(30);
    } finally {
      for (const worker of workers) {
        const exited = new Promise((resolve) => worker.once("exit", resolve));
        worker.kill("SIGTERM");
        await exited;
      }
    }
  }, 60_000);
});
