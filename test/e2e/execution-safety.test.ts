import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiEnvSchema } from "../../api/src/config.ts";
import { startApi, type RunningApi } from "../../api/src/start-api.ts";
import { testRedisUrl } from "../redis.ts";
import { runJob, startTestStack, TEST_API_KEY, webService, type JobBody, type TestStack } from "../stack.ts";

const LEASE = { dseq: "1000", gseq: 1, oseq: 1, service: "web", podIndex: 0 };

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, "utf8")).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe("execution safety, end to end", () => {
  let stack: TestStack;
  let sandbox: string;

  beforeAll(async () => {
    stack = await startTestStack({
      workers: 0,
      deployments: [{ owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService()] }] }],
    });
    sandbox = stack.sim.sandboxDir(LEASE);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const submit = async (body: object) => {
    const response = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", body);
    expect(response.status).toBe(202);
    return (response.body as JobBody).id;
  };
  const getJob = async (id: string) => (await stack.request("GET", `/v1/shell-exec/jobs/${id}`)).body as JobBody & { status: string };

  it("a worker killed mid-command never causes a second run: the job ends WORKER_LOST quickly, every time", async () => {
    for (let round = 0; round < 3; round++) {
      const marker = `ran-${round}.log`;
      const first = await stack.startWorkerProcess();
      const id = await submit({ service: "web", command: `echo "$$" >> ${marker}; sleep 30`, timeout: 120 });
      await waitFor(async () => (await readLines(join(sandbox, marker))).length === 1, 15_000, "the command to start");
      await killAndWait(first);
      const killedAt = Date.now();
      const second = await stack.startWorkerProcess();
      const ended = await waitFor(async () => {
        const job = await getJob(id);
        return job.status === "error" ? job : null;
      }, 20_000, "WORKER_LOST");
      // Lock duration (4 s) + stall interval (2 s) in this stack, plus process start-up.
      expect(Date.now() - killedAt).toBeLessThan(15_000);
      expect(ended.error).toMatchObject({ code: "WORKER_LOST", commandMayHaveRun: true });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await readLines(join(sandbox, marker))).toHaveLength(1);
      await killAndWait(second);
      // The lost worker's command is still running in the "container", as it would be on a real provider.
      // Stop it, so the round leaves nothing behind.
      for (const pid of await stack.sim.listReplicaProcesses(LEASE)) process.kill(pid, "SIGKILL");
      await waitFor(async () => (await stack.sim.listReplicaProcesses(LEASE)).length === 0, 5_000, "leftover processes to end");
    }
  }, 120_000);

  it("a worker killed before it sent the command leaves a job that simply runs once elsewhere", async () => {
    // The lease-status check (before anything is sent) hangs, so the first worker is killed before sending.
    await stack.sim.setFault({ dseq: "1000", gseq: 1, oseq: 1 }, { kind: "stall" });
    const first = await stack.startWorkerProcess();
    const id = await submit({ service: "web", command: "echo once >> before-send.log" });
    await waitFor(async () => (await getJob(id)).status === "running", 10_000, "the job to be claimed");
    await killAndWait(first);
    await stack.sim.setFault({ dseq: "1000", gseq: 1, oseq: 1 }, null);
    const second = await stack.startWorkerProcess();
    try {
      const ended = await waitFor(async () => {
        const job = await getJob(id);
        return job.status === "succeeded" ? job : null;
      }, 20_000, "the job to run elsewhere");
      expect(ended.error).toBeNull();
      expect(await readLines(join(sandbox, "before-send.log"))).toEqual(["once"]);
    } finally {
      await killAndWait(second);
    }
  }, 60_000);

  it("a worker stopped with SIGTERM finishes its running job before it exits", async () => {
    const worker = await stack.startWorkerProcess();
    const id = await submit({ service: "web", command: "echo go >> graceful.log; sleep 1; echo done" });
    await waitFor(async () => (await readLines(join(sandbox, "graceful.log"))).length === 1, 10_000, "the command to start");
    const exited = new Promise<number | null>((resolve) => worker.once("exit", (code) => resolve(code)));
    worker.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(await getJob(id)).toMatchObject({ status: "succeeded", result: { stdout: "done\n" } });
  }, 30_000);

  it("cancels a queued job: it ends canceled and never runs", async () => {
    const id = await submit({ service: "web", command: "echo ran >> queued-cancel.log" });
    const canceled = await stack.request("DELETE", `/v1/shell-exec/jobs/${id}`);
    expect(canceled.status).toBe(202);
    expect((canceled.body as JobBody).status).toBe("canceled");
    const again = await stack.request("DELETE", `/v1/shell-exec/jobs/${id}`);
    expect(again.status).toBe(409);
    const worker = await stack.startWorkerProcess();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await readLines(join(sandbox, "queued-cancel.log"))).toEqual([]);
    expect((await getJob(id)).status).toBe("canceled");
    await killAndWait(worker);
  }, 30_000);

  it("cancels a running job from another API process: the worker holding it stops the process in the container", async () => {
    const config = apiEnvSchema.parse({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: stack.prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      AKASH_REST_URL: stack.sim.chainUrl,
      AKASH_WALLET_MNEMONIC: stack.mnemonic,
      SHELL_EXEC_API_KEYS: TEST_API_KEY,
    });
    const otherApi: RunningApi = await startApi({ ...config, REDIS_URL: testRedisUrl() }, pino({ level: "silent" }));
    const workers = [await stack.startWorkerProcess(), await stack.startWorkerProcess()];
    try {
      // Earlier tests leave processes behind on purpose (a killed worker's command keeps running, as in a real
      // container): only this job's processes count.
      const before = new Set(await stack.sim.listReplicaProcesses(LEASE));
      const id = await submit({ service: "web", command: "echo started >> running-cancel.log; sleep 60", timeout: 300 });
      await waitFor(async () => (await readLines(join(sandbox, "running-cancel.log"))).length === 1, 15_000, "the command to start");
      const ours = (await stack.sim.listReplicaProcesses(LEASE)).filter((pid) => !before.has(pid));
      expect(ours.length).toBeGreaterThan(0);
      const started = Date.now();
      const response = await fetch(`${otherApi.url}/v1/shell-exec/jobs/${id}`, { method: "DELETE", headers: { "x-api-key": TEST_API_KEY } });
      expect(response.status).toBe(202);
      const ended = await waitFor(async () => {
        const job = await getJob(id);
        return job.status === "canceled" ? job : null;
      }, 15_000, "the cancel");
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(ended.error?.message).toContain("kill confirmed");
      await waitFor(async () => {
        const alive = new Set(await stack.sim.listReplicaProcesses(LEASE));
        return ours.every((pid) => !alive.has(pid));
      }, 5_000, "the process to be gone");
    } finally {
      for (const worker of workers) await killAndWait(worker);
      await otherApi.close();
    }
  }, 60_000);

  it("replays the same Idempotency-Key with the same job, and refuses it with another body", async () => {
    const worker = await stack.startWorkerProcess();
    try {
      const headers = { "idempotency-key": "deploy-42" };
      const first = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "echo once >> idem.log" }, headers);
      const second = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec?wait=10", { service: "web", command: "echo once >> idem.log" }, headers);
      expect([200, 202]).toContain(second.status);
      expect((second.body as JobBody).id).toBe((first.body as JobBody).id);
      const conflict = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "echo twice" }, headers);
      expect(conflict.status).toBe(409);
      expect((conflict.body as { error: { code: string } }).error.code).toBe("IDEMPOTENCY_CONFLICT");
      await runJob(stack, { service: "web", command: "true" });
      expect(await readLines(join(sandbox, "idem.log"))).toEqual(["once"]);
    } finally {
      await killAndWait(worker);
    }
  }, 30_000);
});
