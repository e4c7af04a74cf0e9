import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../testing/wait.ts";
import { startTestSim, TEST_DSEQ, type TestSim } from "../testing/fixture.ts";

let t: TestSim;

const WAIT_FOR_SECRET = "while [ ! -s /run/secrets/api_token ]; do sleep 0.05; done; echo got $(cat /run/secrets/api_token); exec sleep 60";

beforeAll(async () => {
  t = await startTestSim({
    services: [
      { name: "app", replicas: 2, entrypoint: ["sh", "-c", WAIT_FOR_SECRET] },
      { name: "oneshot", entrypoint: ["sh", "-c", "echo started in $(pwd); exit 7"] },
    ],
  });
});

afterAll(async () => {
  await t.sim.stop();
});


describe("entrypoints", () => {
  it("runs each replica's entrypoint at start and exposes its output and exit", async () => {
    const oneshot = t.sim.entrypoint({ ...t.lease, service: "oneshot", podIndex: 0 })!;
    expect(await oneshot.exited).toEqual({ code: 7, signal: null });
    expect(oneshot.output()).toBe(`started in ${t.sim.sandboxDir({ ...t.lease, service: "oneshot", podIndex: 0 })}\n`);
  });

  it("lets a container wait for a secret file delivered by a command, replica by replica", async ({ skip }) => {
    if (!t.sim.pathsIsolated) skip("mount namespaces are not available here");
    const pod0 = t.sim.entrypoint({ ...t.lease, service: "app", podIndex: 0 })!;
    const pod1 = t.sim.entrypoint({ ...t.lease, service: "app", podIndex: 1 })!;
    expect(pod0.exit).toBeNull();
    const delivered = await t.shell({ argv: ["sh", "-c", "printf tok-0 > /run/secrets/api_token.tmp && mv /run/secrets/api_token.tmp /run/secrets/api_token"], service: "app" });
    expect(delivered.result).toEqual({ exit_code: 0 });
    await waitFor(() => pod0.output().includes("got tok-0"));
    // The other replica has its own /run/secrets and is still waiting.
    expect(pod1.output()).toBe("");
    // Entrypoints are not exec processes, unless asked for.
    const replica = { ...t.lease, service: "app", podIndex: 0 };
    expect(await t.sim.listReplicaProcesses(replica)).toEqual([]);
    expect(await t.sim.listReplicaProcesses(replica, { includeEntrypoint: true })).toEqual([pod0.pid]);
  });

  it("starts the entrypoints of a deployment added at run time", async () => {
    t.sim.addDeployment({
      owner: t.owner.address,
      dseq: Number(TEST_DSEQ) + 1,
      leases: [{ provider: t.provider, services: [{ name: "late", entrypoint: ["sh", "-c", "echo late"] }] }],
    });
    const late = t.sim.entrypoint({ dseq: Number(TEST_DSEQ) + 1, gseq: 1, oseq: 1, service: "late", podIndex: 0 })!;
    expect(await late.exited).toEqual({ code: 0, signal: null });
    expect(late.output()).toBe("late\n");
  });
});
