import { z } from "zod";
import type { ProviderErrorCode } from "@shell-exec/shared/exec/lease-shell-types.ts";

/**
 * Everything that can end a lease-shell exchange other than a clean result, and what each means for the job: which
 * error code, and whether the command may have run. The rule for `commandMayHaveRun` is conservative: false only
 * when the provider certainly did not start it. The provider starts the exec right after writing "101 Switching
 * Protocols", so once the upgrade request is on the wire and no refusal came back, the command may have run.
 *
 * Messages in 102 frames come from akash-network/provider: gateway/rest/router.go (leaseShellHandler),
 * cluster/client.go (ErrExec*), cluster/kube/client_exec.go (Exec), cluster/kube/errors/errors.go.
 */
export type ExchangeFailure =
  /** DNS, refused, reset or timeout before the upgrade request was written. */
  | { stage: "connect"; kind: "unreachable"; detail: string }
  | { stage: "connect"; kind: "tls-untrusted"; detail: string }
  /** The caller's beforeSend hook refused: the request was never written. */
  | { stage: "before-send"; kind: "refused"; detail: string }
  /** The provider answered the upgrade request with something other than 101. */
  | { stage: "upgrade"; kind: "http-status"; status: number; body: string }
  /** The request was written; no answer came (timeout, reset, close) or the 101 was malformed. */
  | { stage: "upgrade"; kind: "no-answer"; detail: string }
  /** A 102 result frame carrying a message (whatever its exit_code). */
  | { stage: "stream"; kind: "result-message"; exitCode: number; message: string }
  /** A 103 frame: the provider's exec failed with an error it does not disclose. */
  | { stage: "stream"; kind: "exec-failed" }
  /** The connection ended before a 102/103. */
  | { stage: "stream"; kind: "disconnected"; detail: string }
  /** An unknown frame code, an unparsable 102, an oversize frame, a WebSocket protocol violation. */
  | { stage: "stream"; kind: "protocol"; detail: string };

export interface ClassifiedFailure {
  code: ProviderErrorCode;
  message: string;
  commandMayHaveRun: boolean;
  httpStatus?: number;
  providerMessage?: string;
}

export function classifyFailure(failure: ExchangeFailure): ClassifiedFailure {
  switch (failure.kind) {
    case "unreachable":
      return { code: "PROVIDER_UNREACHABLE", message: `The provider could not be reached: ${failure.detail}.`, commandMayHaveRun: false };
    case "tls-untrusted":
      return { code: "PROVIDER_TLS_UNTRUSTED", message: failure.detail, commandMayHaveRun: false };
    case "refused":
      // No dedicated code exists for "our own marker refused"; the caller knows why it threw (see report/README).
      return { code: "PROVIDER_UNREACHABLE", message: `Not sent: the pre-send check failed (${failure.detail}).`, commandMayHaveRun: false };
    case "http-status":
      return classifyUpgradeStatus(failure.status, failure.body);
    case "no-answer":
      return {
        code: "PROVIDER_UNREACHABLE",
        message: `The request reached the provider but no upgrade answer came back (${failure.detail}); the command may have started.`,
        commandMayHaveRun: true,
      };
    case "result-message":
      return classifyResultMessage(failure.message);
    case "exec-failed":
      return {
        code: "PROVIDER_EXEC_FAILED",
        message: "The provider reported that the exec failed (frame 103) without saying why.",
        commandMayHaveRun: true,
      };
    case "disconnected":
      return {
        code: "PROVIDER_DISCONNECTED",
        message: `The connection to the provider ended before the command's result arrived (${failure.detail}).`,
        commandMayHaveRun: true,
      };
    case "protocol":
      return {
        code: "PROVIDER_PROTOCOL_ERROR",
        message: `The provider broke the lease-shell protocol: ${failure.detail}.`,
        commandMayHaveRun: true,
      };
  }
}

/** A non-101 answer to the upgrade request: nothing was executed (the exec starts only after the upgrade). */
export function classifyUpgradeStatus(status: number, body: string): ClassifiedFailure {
  const providerMessage = providerBodyMessage(body);
  const said = providerMessage ? `: ${providerMessage}` : "";
  const base = { httpStatus: status, commandMayHaveRun: false, ...(providerMessage ? { providerMessage } : {}) };
  if (status === 401 || status === 403) {
    return { ...base, code: "PROVIDER_AUTH_FAILED", message: `The provider refused the worker's credentials (HTTP ${status}${said}).` };
  }
  if (status >= 400 && status < 500) {
    return { ...base, code: "PROVIDER_REJECTED", message: `The provider rejected the shell request (HTTP ${status}${said}).` };
  }
  if (status >= 500) {
    return { ...base, code: "PROVIDER_UNREACHABLE", message: `The provider failed to serve the shell request (HTTP ${status}${said}).` };
  }
  // 1xx other than 101, 2xx, 3xx (redirects are not followed): not a WebSocket, nothing ran.
  return { ...base, code: "PROVIDER_REJECTED", message: `The provider answered the shell request with HTTP ${status} instead of an upgrade${said}.` };
}

/**
 * A 102 with a message. The provider only puts a message there for errors it deems safe to show (ErrExec* and
 * ErrNoServiceForLease); each is decided here by whether the container process was started.
 */
export function classifyResultMessage(message: string): ClassifiedFailure {
  const providerMessage = message;
  const notRun = (code: ProviderErrorCode, text: string): ClassifiedFailure => ({ code, message: text, commandMayHaveRun: false, providerMessage });
  // ServiceStatus, before any exec: "kube: no service for that lease" (optionally `: service "x"`).
  if (message.includes("no service for that lease")) {
    return notRun("SERVICE_NOT_FOUND", `The lease has no such service (provider: ${message}).`);
  }
  // The handler's own check, before any exec (the typo is the provider's).
  if (message.startsWith("no active replicase for service")) {
    return notRun("NO_READY_REPLICA", `The service has no ready replica (provider: ${message}).`);
  }
  if (message.startsWith("remote command execute error")) {
    const detail = message.slice("remote command execute error".length).replace(/^:\s*/, "");
    // Checks in cluster/kube/client_exec.go that return before the SPDY exec request is made.
    const beforeExec = [
      "no such service exists with that name",
      "service with that name is not running",
      "deployment is not yet active",
      "pod index out of range",
      // The container runtime could not find the executable: nothing started.
      "command could not be executed because it does not exist",
    ];
    if (beforeExec.some((known) => detail.startsWith(known))) {
      return notRun("PROVIDER_EXEC_FAILED", `The provider could not start the command: ${detail}.`);
    }
    // "command execution failed" and anything newer: the exec was attempted and its fate is unknown.
    return {
      code: "PROVIDER_EXEC_FAILED",
      message: `The provider's exec failed: ${detail || message}.`,
      commandMayHaveRun: true,
      providerMessage,
    };
  }
  return {
    code: "PROVIDER_EXEC_FAILED",
    message: `The provider ended the exec with an error: ${message}.`,
    commandMayHaveRun: true,
    providerMessage,
  };
}

const MAX_PROVIDER_MESSAGE_CHARS = 500;
const providerErrorBodySchema = z.object({ message: z.string() });

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The provider's auth errors are JSON `{"message": ...}`; its other refusals are plain text (or empty). */
export function providerBodyMessage(body: string): string | undefined {
  const text = body.trim();
  if (text.length === 0) return undefined;
  let message = text;
  if (text.startsWith("{")) {
    const parsed = providerErrorBodySchema.safeParse(parseJsonOrUndefined(text));
    if (parsed.success) message = parsed.data.message;
  }
  // eslint-disable-next-line no-control-regex
  message = message.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return message.length > MAX_PROVIDER_MESSAGE_CHARS ? `${message.slice(0, MAX_PROVIDER_MESSAGE_CHARS)}…` : message || undefined;
}
