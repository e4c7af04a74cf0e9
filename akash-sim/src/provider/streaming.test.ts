import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HIGH_WATER } from "./lease-shell.ts";
import { runShell } from "../testing/shell-client.ts";
import { startTestSim, type TestSim } from "../testing/fixture.ts";

let t: TestSim;

beforeAll(async () => {
  t = await startTestSim();
});

afterAll(async () => {
  await t.sim.stop();
});

const MB = 1024 * 1024;
/** The largest frame Node hands over from a pipe or the flood generator, plus its code byte. */
const FRAME_SLACK = 64 * 1024 + 1;

describe("large output", () => {
  it("streams 100 MB from a real process with at most the high-water mark queued for the socket", async () => {
    const exchange = await runShell(t.shellUrl({ argv: ["head", "-c", String(100 * MB), "/dev/zero"] }), {
      token: t.token(),
      ca: t.ca,
      keepOutput: false,
    });
    expect(exchange.stdoutBytes).toBe(100 * MB);
    expect(exchange.result).toEqual({ exit_code: 0 });
    const { maxBufferedBytes } = t.sim.stats();
    expect(maxBufferedBytes).toBeLessThanOrEqual(HIGH_WATER + FRAME_SLACK);
    // (The sim's resident memory while streaming is measured in a process of its own: bin/akash-sim.test.ts.)
  });

  it("pauses the process while a slow client catches up, and loses nothing", async () => {
    let paused = false;
    let received = 0;
    const exchange = await runShell(t.shellUrl({ argv: ["head", "-c", String(8 * MB), "/dev/zero"] }), {
      token: t.token(),
      ca: t.ca,
      keepOutput: false,
      onFrame: (frame, ws) => {
        received += frame.data.length;
        // Stop reading for a while once 1 MB arrived: the sim must stop queueing too.
        if (!paused && received > MB) {
          paused = true;
          ws.pause();
          setTimeout(() => ws.resume(), 300);
        }
      },
    });
    expect(exchange.stdoutBytes).toBe(8 * MB);
    expect(t.sim.stats().maxBufferedBytes).toBeLessThanOrEqual(HIGH_WATER + FRAME_SLACK);
  });
});
