import { describe, expect, it } from "vitest";
import { classifyFailure, providerBodyMessage, type ClassifiedFailure, type ExchangeFailure } from "./classify-failure.ts";

type Expected = Pick<ClassifiedFailure, "code" | "commandMayHaveRun"> & Partial<Pick<ClassifiedFailure, "httpStatus" | "providerMessage">>;

const table: [string, ExchangeFailure, Expected][] = [
  ["connection refused", { stage: "connect", kind: "unreachable", detail: "ECONNREFUSED" }, { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false }],
  ["DNS failure", { stage: "connect", kind: "unreachable", detail: "ENOTFOUND" }, { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false }],
  ["connect timeout", { stage: "connect", kind: "unreachable", detail: "timeout" }, { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false }],
  ["TLS untrusted", { stage: "connect", kind: "tls-untrusted", detail: "self-signed, not on chain" }, { code: "PROVIDER_TLS_UNTRUSTED", commandMayHaveRun: false }],
  ["beforeSend refused", { stage: "before-send", kind: "refused", detail: "canceled" }, { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false }],
  [
    "401 JWT invalid",
    { stage: "upgrade", kind: "http-status", status: 401, body: '{"message":"JWT is invalid"}' },
    { code: "PROVIDER_AUTH_FAILED", commandMayHaveRun: false, httpStatus: 401, providerMessage: "JWT is invalid" },
  ],
  [
    "403",
    { stage: "upgrade", kind: "http-status", status: 403, body: "" },
    { code: "PROVIDER_AUTH_FAILED", commandMayHaveRun: false, httpStatus: 403 },
  ],
  [
    "400 ambiguous authentication",
    { stage: "upgrade", kind: "http-status", status: 400, body: '{"message":"ambiguous authentication"}' },
    { code: "PROVIDER_REJECTED", commandMayHaveRun: false, httpStatus: 400, providerMessage: "ambiguous authentication" },
  ],
  [
    "400 bad lease id, plain text",
    { stage: "upgrade", kind: "http-status", status: 400, body: "invalid dseq\n" },
    { code: "PROVIDER_REJECTED", commandMayHaveRun: false, httpStatus: 400, providerMessage: "invalid dseq" },
  ],
  ["404", { stage: "upgrade", kind: "http-status", status: 404, body: "" }, { code: "PROVIDER_REJECTED", commandMayHaveRun: false, httpStatus: 404 }],
  [
    "500",
    { stage: "upgrade", kind: "http-status", status: 500, body: "kube: internal error" },
    { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false, httpStatus: 500, providerMessage: "kube: internal error" },
  ],
  ["503", { stage: "upgrade", kind: "http-status", status: 503, body: "" }, { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: false, httpStatus: 503 }],
  ["200 instead of upgrade", { stage: "upgrade", kind: "http-status", status: 200, body: "hello" }, { code: "PROVIDER_REJECTED", commandMayHaveRun: false, httpStatus: 200 }],
  ["302 (redirects not followed)", { stage: "upgrade", kind: "http-status", status: 302, body: "" }, { code: "PROVIDER_REJECTED", commandMayHaveRun: false, httpStatus: 302 }],
  ["no answer to the upgrade", { stage: "upgrade", kind: "no-answer", detail: "timeout" }, { code: "PROVIDER_UNREACHABLE", commandMayHaveRun: true }],
  [
    "no service for that lease",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "kube: no service for that lease" },
    { code: "SERVICE_NOT_FOUND", commandMayHaveRun: false, providerMessage: "kube: no service for that lease" },
  ],
  [
    "no service for that lease, named",
    { stage: "stream", kind: "result-message", exitCode: 0, message: 'kube: no service for that lease: service "db"' },
    { code: "SERVICE_NOT_FOUND", commandMayHaveRun: false },
  ],
  [
    "no active replicase (sic)",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "no active replicase for service" },
    { code: "NO_READY_REPLICA", commandMayHaveRun: false },
  ],
  [
    "pod index out of range",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "remote command execute error: pod index out of range: valid range is [0, 0]" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: false },
  ],
  [
    "executable not found",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "remote command execute error: command could not be executed because it does not exist" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: false },
  ],
  [
    "service not running",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "remote command execute error: service with that name is not running: the service is not ready" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: false },
  ],
  [
    "no such service in the manifest",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "remote command execute error: no such service exists with that name" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: false },
  ],
  [
    "command execution failed (exec attempted)",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "remote command execute error: command execution failed" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: true },
  ],
  [
    "an unknown exec error",
    { stage: "stream", kind: "result-message", exitCode: 0, message: "remote command execute error: something new" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: true },
  ],
  [
    "an unknown message with a non-zero exit code",
    { stage: "stream", kind: "result-message", exitCode: 2, message: "weird" },
    { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: true, providerMessage: "weird" },
  ],
  ["103", { stage: "stream", kind: "exec-failed" }, { code: "PROVIDER_EXEC_FAILED", commandMayHaveRun: true }],
  ["dropped without 102/103", { stage: "stream", kind: "disconnected", detail: "1006" }, { code: "PROVIDER_DISCONNECTED", commandMayHaveRun: true }],
  ["unknown frame code", { stage: "stream", kind: "protocol", detail: "unknown frame code 7" }, { code: "PROVIDER_PROTOCOL_ERROR", commandMayHaveRun: true }],
];

describe("classifyFailure", () => {
  it.each(table)("%s", (_name, failure, expected) => {
    const classified = classifyFailure(failure);
    expect(classified).toMatchObject(expected);
    expect(classified.message.length).toBeGreaterThan(10);
    if (expected.httpStatus === undefined) expect(classified.httpStatus).toBeUndefined();
  });

  it("never says a command certainly did not run once the exchange reached the stream", () => {
    for (const [, failure] of table) {
      const classified = classifyFailure(failure);
      if (failure.stage === "connect" || failure.stage === "before-send" || failure.kind === "http-status") {
        expect(classified.commandMayHaveRun).toBe(false);
      }
      if (failure.kind === "no-answer" || failure.kind === "disconnected" || failure.kind === "protocol" || failure.kind === "exec-failed") {
        expect(classified.commandMayHaveRun).toBe(true);
      }
    }
  });
});

describe("providerBodyMessage", () => {
  it("takes message from the provider's JSON, else the text, bounded and without control characters", () => {
    expect(providerBodyMessage('{"message":"JWT is expired"}')).toBe("JWT is expired");
    expect(providerBodyMessage("  \n")).toBeUndefined();
    expect(providerBodyMessage('{"other":1}')).toBe('{"other":1}');
    expect(providerBodyMessage("bad\u0000\u001b[31mred")).toBe("bad [31mred");
    expect(providerBodyMessage("x".repeat(2000))!.length).toBe(501);
  });
});
