import type { JobOutput, JobRecord } from "@shell-exec/shared/jobs/job-model.ts";
import type { JobSummaryView, JobView } from "../schemas/job.schemas.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function textAndBase64(bytes: Buffer): { text: string; base64: string | null } {
  try {
    return { text: utf8.decode(bytes), base64: null };
  } catch {
    return { text: bytes.toString("utf8"), base64: bytes.toString("base64") };
  }
}

export function jobLinks(id: string): { self: string; wait: string } {
  return { self: `/v1/shell-exec/jobs/${id}`, wait: `/v1/shell-exec/jobs/${id}/wait` };
}

/** The public shape of a job. Output is read only when the job has a result, and only for single-job reads. */
export function toJobView(record: JobRecord, output: JobOutput | null): JobView {
  let result: JobView["result"] = null;
  if (record.result) {
    const stdout = textAndBase64(output?.stdout ?? Buffer.alloc(0));
    const stderr = textAndBase64(output?.stderr ?? Buffer.alloc(0));
    result = {
      stdout: stdout.text,
      stderr: stderr.text,
      stdoutBase64: stdout.base64,
      stderrBase64: stderr.base64,
      ...record.result,
    };
  }
  return {
    id: record.id,
    status: record.status,
    target: record.target,
    request: record.request,
    batchId: record.batchId,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    result,
    error: record.error,
    links: jobLinks(record.id),
  };
}

export function toJobSummary(record: JobRecord): JobSummaryView {
  return { ...toJobView(record, null), result: record.result };
}
