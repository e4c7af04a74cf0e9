/**
 * Faults a test can switch on for a whole provider or for one lease (dseq/gseq/oseq). Connection-level faults
 * (refuse) exist per provider only: a TCP connection does not name a lease.
 */
export type Fault =
  /** Stop listening: new connections get ECONNREFUSED (provider only). Clearing the fault listens again. */
  | { kind: "refuse" }
  /** Destroy the connection as soon as the request arrives: no HTTP answer at all. */
  | { kind: "reset" }
  /** Accept the request and never answer it (no upgrade, no status). */
  | { kind: "stall" }
  /** Answer the request (the upgrade, or lease status) with this status and body instead. */
  | { kind: "reject"; status: number; body?: string; contentType?: string }
  /** Complete the upgrade, then send nothing and never end. */
  | { kind: "hang" }
  /**
   * Run the command, and drop the TCP connection (no close frame, no result) once `afterBytes` bytes of output were
   * sent (default 1), or when the command ends if it writes less.
   */
  | { kind: "drop"; afterBytes?: number }
  /** Send one frame with an unknown code (default 42) before the command's output; the command runs normally. */
  | { kind: "unknown-frame"; code?: number; payload?: string }
  /** Send a text frame and an empty binary frame (both to be ignored) before the output. */
  | { kind: "ignorable-frames" }
  /** Run the command, then send a result frame whose payload is not JSON. */
  | { kind: "garbage-result"; payload?: string }
  /** Skip the command: send 103 (exec failed) and drop the connection. */
  | { kind: "exec-failure" }
  /** Skip the command: send `chunk` every `intervalMs`, `count` times, then the result. */
  | { kind: "drip"; chunk?: string; intervalMs?: number; count?: number; exitCode?: number }
  /** Skip the command: send `bytes` of output as fast as the client takes it, then the result. */
  | { kind: "flood"; bytes: number; chunkBytes?: number; stream?: "stdout" | "stderr"; exitCode?: number };

export type FaultTarget = { provider: string } | { dseq: string | number; gseq: number; oseq: number };

export type FaultKind = Fault["kind"];

/** Faults that act before or instead of the WebSocket upgrade. */
export const PRE_UPGRADE_FAULTS: ReadonlySet<FaultKind> = new Set(["reset", "stall", "reject"]);
