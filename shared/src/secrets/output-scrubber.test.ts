import { describe, expect, it } from "vitest";
import { REDACTION_MARKER, scrubSecrets } from "./output-scrubber.ts";

const secret = Buffer.from("s3cr3t-canary-9f2b");

describe("scrubSecrets", () => {
  it("replaces the raw value and its common encodings with a marker", () => {
    const output = Buffer.from(
      [
        `raw ${secret.toString()}`,
        `b64 ${secret.toString("base64")}`,
        `b64url ${secret.toString("base64url")}`,
        `hex ${secret.toString("hex")}`,
        `HEX ${secret.toString("hex").toUpperCase()}`,
        `url ${encodeURIComponent("a b&" + secret.toString())}`,
      ].join("\n"),
    );
    const { output: scrubbed, redactions } = scrubSecrets(output, [secret, Buffer.from("a b&" + secret.toString())]);
    const text = scrubbed.toString();
    expect(text).not.toContain(secret.toString());
    expect(text).not.toContain(secret.toString("base64").replace(/=+$/, ""));
    expect(text).not.toContain(secret.toString("hex"));
    expect(text).not.toContain(secret.toString("hex").toUpperCase());
    expect(redactions).toBeGreaterThanOrEqual(6);
    expect(text).toContain(REDACTION_MARKER.toString());
    expect(text.startsWith("raw [REDACTED]")).toBe(true);
  });

  it("leaves output alone when no secret is in it, and ignores very short values", () => {
    const output = Buffer.from("exit ok 1\n");
    expect(scrubSecrets(output, [Buffer.from("ok")]).output.equals(output)).toBe(true);
    expect(scrubSecrets(output, [secret]).redactions).toBe(0);
  });

  it("scrubs each line of a multi-line secret such as a key file", () => {
    const key = Buffer.from("-----BEGIN KEY-----\nAAAABBBBCCCCDDDDEEEEFFFF\nGGGGHHHHIIIIJJJJKKKKLLLL\n-----END KEY-----\n");
    const output = Buffer.from("line: GGGGHHHHIIIIJJJJKKKKLLLL\n");
    expect(scrubSecrets(output, [key]).output.toString()).toBe("line: [REDACTED]\n");
  });
});
