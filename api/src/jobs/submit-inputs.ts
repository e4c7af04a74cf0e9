import { createHash } from "node:crypto";
import { stableStringify } from "@shell-exec/shared/akash/provider-jwt.ts";
import type { JobRequest } from "@shell-exec/shared/jobs/job-model.ts";
import type { SecretBundle } from "@shell-exec/shared/secrets/secret-bundle.ts";
import type { SecretBox } from "@shell-exec/shared/secrets/secret-box.ts";
import type { SubmitBody } from "../schemas/job.schemas.ts";

/** Splits a validated submit body into the secret bundle (sealed before storage) and the echo-safe request record. */
export function secretBundleFromBody(body: SubmitBody): SecretBundle {
  const stdin = body.stdinBase64 !== undefined ? Buffer.from(body.stdinBase64, "base64") : body.stdin !== undefined ? Buffer.from(body.stdin, "utf8") : null;
  return {
    stdin,
    files: (body.files ?? []).map((file) => ({
      path: file.path,
      mode: file.mode.padStart(4, "0"),
      content: file.contentBase64 !== undefined ? Buffer.from(file.contentBase64, "base64") : Buffer.from(file.content ?? "", "utf8"),
    })),
    env: Object.entries(body.env ?? {}).map(([name, value]) => ({ name, value: Buffer.from(value, "utf8") })),
  };
}

export function jobRequestFromBody(body: SubmitBody, bundle: SecretBundle): JobRequest {
  return {
    mode: body.argv ? "exec" : "shell",
    command: body.command ?? null,
    argv: body.argv ?? null,
    timeout: body.timeout,
    workdir: body.workdir ?? null,
    maxOutputBytes: body.maxOutputBytes,
    stdinBytes: bundle.stdin?.length ?? 0,
    files: bundle.files.map((file) => ({ path: file.path, mode: file.mode, bytes: file.content.length })),
    envNames: bundle.env.map((variable) => variable.name),
  };
}

/**
 * What makes two submits "the same request" for Idempotency-Key: the target and the whole body. Keyed with the
 * secrets key when there is one, since the body may hold secrets and a plain hash would let a reader of Redis
 * confirm a guessed secret.
 */
export function requestFingerprint(target: object, body: SubmitBody, secretBox: SecretBox | null): string {
  const canonical = Buffer.from(stableStringify({ target, body }));
  if (secretBox) return secretBox.fingerprint(canonical);
  return `sha256.${createHash("sha256").update(canonical).digest("base64url")}`;
}

export function fingerprintMatches(fingerprint: string, target: object, body: SubmitBody, secretBox: SecretBox | null): boolean {
  const canonical = Buffer.from(stableStringify({ target, body }));
  if (fingerprint.startsWith("sha256.")) return fingerprint === `sha256.${createHash("sha256").update(canonical).digest("base64url")}`;
  return secretBox?.fingerprintMatches(fingerprint, canonical) ?? false;
}
