import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Logger } from "../logger.ts";
import { AUDIT_EVENTS, auditEventInputSchema, type AuditEntry, type AuditEventInput, type AuditEventKind } from "./audit-event.ts";

export const auditKeys = (prefix: string) => ({
  /** Stream: every entry of the installation (the operator's trail). */
  all: `${prefix}:audit`,
  /** Stream: the same entries of one wallet, under the same ids; what `GET /v1/audit` reads, so a tenant's query never scans others' entries. */
  wallet: (wallet: string) => `${prefix}:audit:wallet:${wallet}`,
});

const MAX_COMMAND_CHARS = 4096;
const MAX_ARGV_ELEMENTS = 64;
const MAX_ARGV_ELEMENT_CHARS = 1024;

// Both streams get the entry under one id, trimmed by MINID (approximate, `~`, so trimming is cheap: whole
// macro-nodes) to the retention window measured on the Redis clock, like the `*` ids. A wallet stream that is not
// written for a whole retention window holds only expired entries, so it expires as a key.
const APPEND = `
local t = redis.call('TIME')
local minId = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1]))
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], 'MINID', '~', minId, '*', unpack(fields))
if ARGV[2] == '1' then
  redis.call('XADD', KEYS[2], 'MINID', '~', minId, id, unpack(fields))
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return id`;

const STREAM_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;
const cursorSchema = z.object({ v: z.literal(1), id: z.string().regex(STREAM_ID) });

export class InvalidAuditCursorError extends Error {
  constructor() {
    super("cursor is not one this API returned");
    this.name = "InvalidAuditCursorError";
  }
}

export interface AuditQuery {
  wallet: string;
  event?: AuditEventKind | undefined;
  jobId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  cursor?: string | undefined;
  limit: number;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function optionalNumber(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ v: 1, id })).toString("base64url");
}

function decodeCursor(cursor: string): string {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))).id;
  } catch {
    throw new InvalidAuditCursorError();
  }
}

/** The stream fields of an entry (strings only; absent values are left out). */
function toFields(input: z.output<typeof auditEventInputSchema>): Record<string, string> {
  const fields: Record<string, string> = { event: input.event };
  const put = (name: string, value: string | number | null | undefined) => {
    if (value !== null && value !== undefined) fields[name] = String(value);
  };
  put("principalId", input.principalId);
  put("wallet", input.wallet);
  put("requestId", input.requestId);
  put("clientAddress", input.clientAddress);
  put("jobId", input.jobId);
  if (input.event === "submit") put("batchId", input.batchId);
  if (input.event === "cancel") put("outcome", input.outcome);
  if (input.event === "refusal") put("errorCode", input.errorCode);
  if (input.event === "outcome") {
    put("outcome", input.outcome);
    put("exitCode", input.exitCode);
    put("durationMs", input.durationMs);
    put("errorCode", input.errorCode);
  }
  const target = input.event === "cancel" ? null : input.target;
  if (target) {
    put("dseq", target.dseq);
    put("gseq", target.gseq);
    put("oseq", target.oseq);
    put("service", target.service);
    put("podIndex", target.podIndex);
  }
  const command = input.event === "submit" || input.event === "refusal" ? input.command : null;
  if (command) {
    fields.mode = command.mode;
    fields.commandSha256 = sha256Hex(command.mode === "shell" ? command.command : JSON.stringify(command.argv));
    if (command.sensitive) {
      fields.commandSensitive = "1";
    } else if (command.mode === "shell") {
      fields.command = command.command.slice(0, MAX_COMMAND_CHARS);
      if (command.command.length > MAX_COMMAND_CHARS) fields.commandTruncated = "1";
    } else {
      const argv = command.argv.slice(0, MAX_ARGV_ELEMENTS).map((arg) => arg.slice(0, MAX_ARGV_ELEMENT_CHARS));
      fields.argv = JSON.stringify(argv);
      if (argv.length < command.argv.length || argv.some((arg, i) => arg.length < command.argv[i]!.length)) fields.commandTruncated = "1";
    }
  }
  return fields;
}

function fromFields(id: string, list: string[]): AuditEntry | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) f[list[i]!] = list[i + 1]!;
  const event = f.event as AuditEventKind | undefined;
  if (!event || !AUDIT_EVENTS.includes(event)) return null;
  let argv: string[] | null = null;
  if (f.argv !== undefined) {
    try {
      const parsed = z.array(z.string()).safeParse(JSON.parse(f.argv));
      argv = parsed.success ? parsed.data : null;
    } catch {
      argv = null;
    }
  }
  const gseq = optionalNumber(f.gseq);
  const oseq = optionalNumber(f.oseq);
  return {
    id,
    time: new Date(Number(id.split("-")[0])).toISOString(),
    event,
    principalId: f.principalId ?? null,
    wallet: f.wallet ?? null,
    target:
      f.dseq !== undefined && gseq !== null && oseq !== null
        ? { dseq: f.dseq, gseq, oseq, service: f.service ?? null, podIndex: optionalNumber(f.podIndex) }
        : null,
    mode: f.mode === "shell" || f.mode === "exec" ? f.mode : null,
    command: f.command ?? null,
    argv,
    commandSha256: f.commandSha256 ?? null,
    commandSensitive: f.commandSensitive === "1",
    commandTruncated: f.commandTruncated === "1",
    outcome: f.outcome ?? null,
    exitCode: optionalNumber(f.exitCode),
    durationMs: optionalNumber(f.durationMs),
    errorCode: f.errorCode ?? null,
    requestId: f.requestId ?? null,
    clientAddress: f.clientAddress ?? null,
    jobId: f.jobId ?? null,
    batchId: f.batchId ?? null,
  };
}

export interface AuditLogDeps {
  redis: Redis;
  prefix: string;
  /** Entries older than this are trimmed (approximately) from the streams. */
  retentionSeconds: number;
  /** Every entry is also written here as one JSON line (`{"audit":{…}}`, message "audit"). */
  logger: Logger;
  /** Most entries one query reads before it returns a page with a cursor (bounds a sparse filter's cost). */
  maxScan?: number;
}

/**
 * The audit trail: submits, cancels, refusals and outcomes in Redis streams (bounded by retention) and in the log.
 * Entries never carry secret-grade values: the input type has no field for them, and commands marked sensitive are
 * kept as their digest only.
 */
export class AuditLog {
  readonly #redis: Redis;
  readonly #keys: ReturnType<typeof auditKeys>;
  readonly #retentionMs: number;
  readonly #logger: Logger;
  readonly #maxScan: number;

  constructor(deps: AuditLogDeps) {
    this.#redis = deps.redis;
    this.#keys = auditKeys(deps.prefix);
    this.#retentionMs = deps.retentionSeconds * 1000;
    this.#logger = deps.logger;
    this.#maxScan = deps.maxScan ?? 2_000;
  }

  /**
   * Appends one entry. The log line is written even when Redis fails (then with `stored: false`), and the error is
   * rethrown: the caller decides whether an action that cannot be audited may go on.
   */
  async record(input: AuditEventInput): Promise<AuditEntry> {
    const fields = toFields(auditEventInputSchema.parse(input));
    const wallet = fields.wallet;
    const args = [String(this.#retentionMs), wallet ? "1" : "0", ...Object.entries(fields).flat()];
    let id: string;
    try {
      id = String(await this.#redis.eval(APPEND, 2, this.#keys.all, this.#keys.wallet(wallet ?? ""), ...args));
    } catch (error) {
      const entry = fromFields(`${Date.now()}-0`, Object.entries(fields).flat());
      this.#logger.error({ audit: entry, stored: false, err: error }, "audit");
      throw error;
    }
    const entry = fromFields(id, Object.entries(fields).flat())!;
    this.#logger.info({ audit: entry }, "audit");
    return entry;
  }

  /**
   * A wallet's entries, newest first, optionally of one event kind or job and within [since, until]. Reads at most
   * `maxScan` entries per call: a sparse filter may return fewer than `limit` entries with a `nextCursor` to go on.
   */
  async query(query: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    const key = this.#keys.wallet(query.wallet);
    // XREVRANGE takes the newer bound first; a bare millisecond as `end` covers that whole millisecond.
    let end = query.cursor ? `(${decodeCursor(query.cursor)}` : query.until ? String(query.until.getTime()) : "+";
    const start = query.since ? String(query.since.getTime()) : "-";
    const entries: AuditEntry[] = [];
    let scanned = 0;
    let lastScannedId: string | null = null;
    let exhausted = false;
    while (entries.length < query.limit && scanned < this.#maxScan) {
      const count = Math.min(Math.max(query.limit * 2, 100), this.#maxScan - scanned);
      const page = await this.#redis.xrevrange(key, end, start, "COUNT", count);
      for (const [id, list] of page) {
        scanned++;
        lastScannedId = id;
        const entry = fromFields(id, list);
        if (entry && (!query.event || entry.event === query.event) && (!query.jobId || entry.jobId === query.jobId)) entries.push(entry);
        if (entries.length === query.limit) break;
      }
      // A short page read to its end means nothing older is left in the range.
      if (page.length < count && (page.length === 0 || lastScannedId === page.at(-1)![0])) {
        exhausted = true;
        break;
      }
      end = `(${lastScannedId}`;
    }
    return { entries, nextCursor: exhausted || lastScannedId === null ? null : encodeCursor(lastScannedId) };
  }
}
