import { describe, expect, it } from "vitest";
import { collectedOutput, OutputCollector } from "./output-collector.ts";

describe("OutputCollector", () => {
  it("keeps everything under the cap, byte for byte", () => {
    const collector = new OutputCollector(1024);
    collector.push(Buffer.from([0xff, 0x00, 0xfe]));
    collector.push(Buffer.from("héllo"));
    expect(collector.bytes()).toEqual(Buffer.concat([Buffer.from([0xff, 0x00, 0xfe]), Buffer.from("héllo")]));
    expect(collector.totalBytes).toBe(9);
    expect(collector.truncated).toBe(false);
  });

  it("keeps exactly the first maxBytes, counts the rest, and flags truncation", () => {
    const collector = new OutputCollector(10);
    collector.push(Buffer.from("0123456"));
    collector.push(Buffer.from("789abc"));
    collector.push(Buffer.from("def"));
    expect(collector.bytes().toString()).toBe("0123456789");
    expect(collector.keptBytes).toBe(10);
    expect(collector.totalBytes).toBe(16);
    expect(collector.truncated).toBe(true);
  });

  it("is not truncated at exactly the cap", () => {
    const collector = new OutputCollector(4);
    collector.push(Buffer.from("abcd"));
    expect(collector.truncated).toBe(false);
    collector.push(Buffer.alloc(0));
    expect(collector.truncated).toBe(false);
    collector.push(Buffer.from("e"));
    expect(collector.truncated).toBe(true);
  });

  it("with a zero cap keeps nothing and counts everything", () => {
    const collector = new OutputCollector(0);
    collector.push(Buffer.from("abc"));
    expect(collector.bytes().length).toBe(0);
    expect(collector.totalBytes).toBe(3);
    expect(collector.truncated).toBe(true);
  });

  it("copies frames instead of holding them", () => {
    const collector = new OutputCollector(100);
    const frame = Buffer.from("abc");
    collector.push(frame);
    frame.fill(0x7a);
    expect(collector.bytes().toString()).toBe("abc");
  });

  it("holds at most the cap in memory under a 200 MB flood of small and large frames", () => {
    const cap = 1024 * 1024;
    const collector = new OutputCollector(cap);
    const small = Buffer.alloc(1000, 0x61);
    const large = Buffer.alloc(4 * 1024 * 1024, 0x62);
    const before = process.memoryUsage().arrayBuffers;
    let sent = 0;
    for (let i = 0; i < 100_000; i++) {
      collector.push(small);
      sent += small.length;
    }
    for (let i = 0; i < 25; i++) {
      collector.push(large);
      sent += large.length;
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(sent).toBeGreaterThanOrEqual(200_000_000);
    expect(collector.totalBytes).toBe(sent);
    expect(collector.keptBytes).toBe(cap);
    expect(collector.bytes().equals(Buffer.alloc(cap, 0x61))).toBe(true);
    // The working buffer is at most the cap (grown by doubling): allow for one copy in flight, not for the flood.
    expect(grown).toBeLessThan(3 * cap);
  });

  it("rejects a negative or fractional cap", () => {
    expect(() => new OutputCollector(-1)).toThrow(RangeError);
    expect(() => new OutputCollector(1.5)).toThrow(RangeError);
  });

  it("collectedOutput reports both streams and truncation of either", () => {
    const stdout = new OutputCollector(3);
    const stderr = new OutputCollector(3);
    stdout.push(Buffer.from("ab"));
    stderr.push(Buffer.from("wxyz"));
    expect(collectedOutput(stdout, stderr)).toEqual({
      stdout: Buffer.from("ab"),
      stderr: Buffer.from("wxy"),
      stdoutBytes: 2,
      stderrBytes: 4,
      truncated: true,
    });
  });
});
