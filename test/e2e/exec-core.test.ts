import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, startTestStack, webService, type JobBody, type TestStack } from "../stack.ts";

/** Fire-and-poll, waits and results end to end: API → Redis → worker → akash-sim provider → real child process. */
describe("exec core, end to end", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      deployments: [
        { owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService(), webService({ name: "idle", replicas: 1, readyReplicas: 0 })] }] },
        { owner: "tenant", dseq: "1001", leases: [{ provider: "provider", state: "closed", services: [webService()] }] },
        { owner: "tenant", dseq: "1002", leases: [{ provider: "provider", manifest: false, services: [webService()] }] },
        { owner: "other", dseq: "2000", leases: [{ provider: "provider", services: [webService()] }] },
      ],
      wallets: [{ name: "other", mnemonic: "test test test test test test test test test test test junk" }],
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("fire and poll: 202 with Location, then the result by polling", async () => {
    const submitted = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "echo hello" });
    expect(submitted.status).toBe(202);
    const job = submitted.body as JobBody;
    expect(["queued", "running"]).toContain(job.status);
    expect(submitted.headers.get("location")).toBe(`/v1/shell-exec/jobs/${job.id}`);
    let polled: JobBody = job;
    for (let i = 0; i < 100 && !["succeeded", "failed", "error"].includes(polled.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      polled = (await stack.request("GET", `/v1/shell-exec/jobs/${job.id}`)).body as JobBody;
    }
    expect(polled).toMatchObject({ status: "succeeded", result: { stdout: "hello\n", stderr: "", exitCode: 0, truncated: false } });
  });

  it("?wait= answers 200 with the finished job in one round trip", async () => {
    const response = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec?wait=20", { service: "web", argv: ["printf", "%s", "exec mode"] });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: "succeeded", request: { mode: "exec", argv: ["printf", "%s", "exec mode"] }, result: { stdout: "exec mode" } });
  });

  it("the wait endpoint answers 202 while running and 200 once done", async () => {
    const submitted = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "sleep 2; echo late" });
    const id = (submitted.body as JobBody).id;
    const early = await stack.request("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=1`);
    expect(early.status).toBe(202);
    expect((early.body as JobBody).status).toMatch(/queued|running/);
    const done = await stack.request("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=20`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: "succeeded", result: { stdout: "late\n" } });
  });

  it("keeps stdout, stderr and a non-zero exit code: failed", async () => {
    const job = await runJob(stack, { service: "web", command: "echo out; echo err >&2; exit 3" });
    expect(job).toMatchObject({ status: "failed", error: null, result: { stdout: "out\n", stderr: "err\n", exitCode: 3 } });
  });

  it("caps 5 MB of output at 1 MiB while counting every byte, and still reports the exit code", async () => {
    const job = await runJob(stack, { service: "web", command: "head -c 5242880 /dev/zero | tr '\\0' a; exit 7", maxOutputBytes: 1048576 });
    expect(job.status).toBe("failed");
    expect(job.result).toMatchObject({ exitCode: 7, truncated: true, stdoutBytes: 5_242_880 });
    expect(job.result?.stdout).toHaveLength(1_048_576);
  });

  it("delivers non-UTF-8 output faithfully as base64", async () => {
    const job = await runJob(stack, { service: "web", command: "printf '\\377\\000\\303('" });
    expect(job.status).toBe("succeeded");
    expect(Buffer.from(job.result!.stdoutBase64!, "base64")).toEqual(Buffer.from([0xff, 0x00, 0xc3, 0x28]));
  });

  it("lists the caller's own jobs newest first", async () => {
    const a = await runJob(stack, { service: "web", command: "true" });
    const b = await runJob(stack, { service: "web", command: "true" });
    const listed = await stack.request("GET", "/v1/shell-exec/jobs?limit=2");
    expect(listed.status).toBe(200);
    expect((listed.body as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual([b.id, a.id]);
    const filtered = await stack.request("GET", "/v1/shell-exec/jobs?status=failed&limit=50");
    expect((filtered.body as { jobs: { status: string }[] }).jobs.every((j) => j.status === "failed")).toBe(true);
  });

  it("refuses unknown and foreign deployments with 404 and a closed lease with 409 before queueing", async () => {
    const unknown = await stack.request("POST", "/v1/deployments/999999/leases/1/1/shell-exec", { service: "web", command: "true" });
    expect(unknown.status).toBe(404);
    expect((unknown.body as { error: { code: string } }).error.code).toBe("DEPLOYMENT_NOT_FOUND");
    const foreign = await stack.request("POST", "/v1/deployments/2000/leases/1/1/shell-exec", { service: "web", command: "true" });
    expect(foreign.status).toBe(404);
    const noLease = await stack.request("POST", "/v1/deployments/1000/leases/1/9/shell-exec", { service: "web", command: "true" });
    expect(noLease.status).toBe(404);
    expect((noLease.body as { error: { code: string } }).error.code).toBe("LEASE_NOT_FOUND");
    const closed = await stack.request("POST", "/v1/deployments/1001/leases/1/1/shell-exec", { service: "web", command: "true" });
    expect(closed.status).toBe(409);
    expect((closed.body as { error: { code: string } }).error.code).toBe("LEASE_NOT_ACTIVE");
  });

  it("ends an unknown service, a service with no ready replica and an unknown lease as errors, never a false exit 0", async () => {
    const unknownService = await runJob(stack, { service: "nope", command: "true" });
    expect(unknownService).toMatchObject({ status: "error", error: { code: "SERVICE_NOT_FOUND", commandMayHaveRun: false } });
    const idle = await runJob(stack, { service: "idle", command: "true" });
    expect(idle).toMatchObject({ status: "error", error: { code: "NO_READY_REPLICA", commandMayHaveRun: false } });
    const gone = await runJob(stack, { service: "web", command: "true" }, { dseq: "1002" });
    expect(gone).toMatchObject({ status: "error", error: { code: "LEASE_GONE", commandMayHaveRun: false } });
  });
});
