import { describe, expect, it } from "vitest";
import { SecretBox, SecretBoxError, secretKeysSchema } from "./secret-box.ts";

describe("SecretBox", () => {
  const k1 = SecretBox.generateKey();
  const k2 = SecretBox.generateKey();

  it("seals and opens, binding the value to its job", () => {
    const box = new SecretBox(secretKeysSchema.parse(`k1:${k1}`));
    const sealed = box.seal(Buffer.from("db-password"), "job_a");
    expect(sealed.startsWith("v1.k1.")).toBe(true);
    expect(sealed).not.toContain("db-password");
    expect(box.open(sealed, "job_a").toString()).toBe("db-password");
    expect(() => box.open(sealed, "job_b")).toThrow(SecretBoxError);
  });

  it("opens values sealed with an older key after rotation, and seals with the new one", () => {
    const old = new SecretBox(secretKeysSchema.parse(`k1:${k1}`));
    const sealed = old.seal(Buffer.from("x"), "job");
    const rotated = new SecretBox(secretKeysSchema.parse(`k2:${k2},k1:${k1}`));
    expect(rotated.open(sealed, "job").toString()).toBe("x");
    expect(rotated.seal(Buffer.from("y"), "job").startsWith("v1.k2.")).toBe(true);
    expect(() => new SecretBox(secretKeysSchema.parse(`k2:${k2}`)).open(sealed, "job")).toThrow(/not configured/);
  });

  it("rejects tampering and malformed key lists", () => {
    const box = new SecretBox(secretKeysSchema.parse(`k1:${k1}`));
    const sealed = box.seal(Buffer.from("value"), "job");
    const parts = sealed.split(".");
    parts[4] = Buffer.from("other").toString("base64url");
    expect(() => box.open(parts.join("."), "job")).toThrow(SecretBoxError);
    expect(secretKeysSchema.safeParse("k1:short").success).toBe(false);
    expect(secretKeysSchema.safeParse("").success).toBe(false);
  });
});
