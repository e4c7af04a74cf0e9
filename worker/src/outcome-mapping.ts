import type { ExecOutcome } from "@shell-exec/shared/exec/lease-shell-types.ts";
import type { JobErrorCode } from "@shell-exec/shared/jobs/job-model.ts";
import type { FinishInput } from "@shell-exec/shared/jobs/job-store.ts";
import { isContainerTimeout } from "./command-wrapper.ts";

/**
 * From what the provider said to what the job reports. Exit codes are only ever taken from a 102 result without a
 * message; everything else is an error with `commandMayHaveRun` as the provider client judged it.
 */
export type KillConfirmation = "killed" | "not-running" | "still-running" | "unknown";

export function finishInputFromOutcome(outcome: ExecOutcome, timeoutSeconds: number, kill: KillConfirmation | null = null): FinishInput {
  const output = { stdout: outcome.stdout, stderr: outcome.stderr };
  const meta = (exitCode: number | null) => ({
    exitCode,
    truncated: outcome.truncated,
    stdoutBytes: outcome.stdoutBytes,
    stderrBytes: outcome.stderrBytes,
    durationMs: Math.round(outcome.durationMs),
  });
  switch (outcome.kind) {
    case "exited":
      if (isContainerTimeout(outcome.exitCode, outcome.durationMs, timeoutSeconds)) {
        return {
          status: "timed_out",
          result: meta(null),
          error: { code: "TIMED_OUT", message: `The command passed its ${timeoutSeconds} s deadline and was stopped in the container.`, commandMayHaveRun: true },
          output,
        };
      }
      return { status: outcome.exitCode === 0 ? "succeeded" : "failed", result: meta(outcome.exitCode), error: null, output };
    case "timed_out":
      return {
        status: "timed_out",
        result: meta(null),
        error: {
          code: "TIMED_OUT",
          message: `No result within the ${timeoutSeconds} s deadline (the container may lack \`timeout\`); ${killSentence(kill)}`,
          commandMayHaveRun: true,
        },
        output,
      };
    case "canceled":
      return {
        status: "canceled",
        result: meta(null),
        error: {
          code: "CANCELED",
          message: `Canceled by a client while running; ${killSentence(kill)}`,
          commandMayHaveRun: true,
        },
        output,
      };
    case "error":
      return {
        status: "error",
        result: null,
        error: { code: outcome.code as JobErrorCode, message: outcome.message, commandMayHaveRun: outcome.commandMayHaveRun },
        output,
      };
  }
}

/** Failures worth another attempt: the command certainly did not reach the provider and the cause may pass. */
export function isRetryableSendFailure(outcome: ExecOutcome): boolean {
  return outcome.kind === "error" && !outcome.commandMayHaveRun && outcome.code === "PROVIDER_UNREACHABLE";
}

function killSentence(kill: KillConfirmation | null): string {
  switch (kill) {
    case "killed":
      return "the process was stopped in the container (kill confirmed).";
    case "not-running":
      return "the process had already ended in the container (confirmed).";
    case "still-running":
      return "the process could NOT be stopped in the container (kill not confirmed).";
    default:
      return "whether the process was stopped in the container could not be confirmed.";
  }
}
