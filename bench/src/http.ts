import { Pool } from "undici";

/** The parts of a job the bench reads (see /work/shared/spec/api.md). */
export interface JobView {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: { exitCode: number | null; truncated: boolean; stdoutBytes: number; stderrBytes: number; durationMs?: number } | null;
  error: { code: string; message: string } | null;
}

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  /** performance.now() when the whole body had arrived. */
  at: number;
}

/** A keep-alive client for one API process (undici Pool: `connections` sockets, no pipelining). */
export class HttpClient {
  readonly #pool: Pool;
  readonly #apiKey: string;

  constructor(url: string, apiKey: string, connections: number) {
    this.#pool = new Pool(url, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 120_000,
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
      connectTimeout: 60_000,
    });
    this.#apiKey = apiKey;
  }

  async request<T = unknown>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown, signal?: AbortSignal): Promise<HttpAnswer<T>> {
    const response = await this.#pool.request({
      method,
      path,
      headers: { "x-api-key": this.#apiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await response.body.text();
    const at = performance.now();
    return { status: response.statusCode, body: (text ? JSON.parse(text) : null) as T, at };
  }

  /** POST …/shell-exec, with `?wait=` when given. */
  submit(body: unknown, options: { dseq?: string; wait?: number; signal?: AbortSignal } = {}): Promise<HttpAnswer<JobView>> {
    const query = options.wait === undefined ? "" : `?wait=${options.wait}`;
    return this.request<JobView>("POST", `/v1/deployments/${options.dseq ?? "1000"}/leases/1/1/shell-exec${query}`, body, options.signal);
  }

  /** Sockets open and requests on them (undici's pool stats). */
  stats(): { connected: number; running: number; pending: number } {
    const { connected, running, pending } = this.#pool.stats;
    return { connected, running, pending };
  }

  /** Closes every socket, aborting whatever is still pending (the bench only closes when done or failing). */
  close(): Promise<void> {
    return this.#pool.destroy();
  }
}

export function expectStatus(answer: HttpAnswer, ...allowed: number[]): void {
  if (!allowed.includes(answer.status)) throw new Error(`API answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
}

/** Queue wait of a job in ms: from its creation to a worker picking it up (ms resolution of ISO times). */
export function queueWaitMs(job: JobView): number {
  return job.startedAt ? Date.parse(job.startedAt) - Date.parse(job.createdAt) : Number.NaN;
}
