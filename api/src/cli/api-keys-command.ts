import { parseArgs } from "node:util";
import type { Redis } from "ioredis";
import { z } from "zod";
import { commonEnvSchema, ConfigError, parseEnv, redisUrlSchema } from "@shell-exec/shared/config/env.ts";
import { createRedisConnection } from "@shell-exec/shared/redis/connection.ts";
import { ApiKeyStore, permissionSchema, type ApiKeyInfo } from "../auth/api-key-store.ts";
import { PERMISSIONS } from "../auth/principal.ts";

export const apiKeysCliEnvSchema = commonEnvSchema.extend({ REDIS_URL: redisUrlSchema });

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Wrong arguments: exit code 2 with the usage text. */
class UsageError extends Error {}

export const USAGE = `Usage: node api/src/cli/api-keys.ts <command> [options]

Manages the API keys the shell-exec API accepts in \`x-api-key\`. Reads REDIS_URL and QUEUE_PREFIX from the environment.

Commands:
  create --name <name> --wallet <akash1…> [--permissions <p,p>] [--expires-in <N>s|m|h|d | --expires-at <ISO time>] [--json]
      Issues a key and prints it once; only its SHA-256 digest is stored.
      Permissions: ${PERMISSIONS.join(", ")} (default: shell-exec:execute,shell-exec:read).
  list [--wallet <akash1…>] [--json]
      Lists keys (never the keys themselves), newest first.
  revoke <id>
      Revokes a key; the next request with it is refused.
`;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function parseExpiry(values: { "expires-in"?: string | undefined; "expires-at"?: string | undefined }, now: Date): Date | undefined {
  if (values["expires-in"] && values["expires-at"]) throw new UsageError("give --expires-in or --expires-at, not both");
  if (values["expires-in"]) {
    const match = /^([1-9][0-9]*)([smhd])$/.exec(values["expires-in"]);
    if (!match) throw new UsageError("--expires-in: a number with a unit, e.g. 3600s, 90m, 12h, 30d");
    return new Date(now.getTime() + Number(match[1]) * DURATION_UNITS[match[2]!]! * 1000);
  }
  if (values["expires-at"]) {
    const parsed = z.iso.datetime({ offset: true }).safeParse(values["expires-at"]);
    if (!parsed.success) throw new UsageError("--expires-at: an ISO 8601 time, e.g. 2030-01-31T00:00:00Z");
    return new Date(parsed.data);
  }
  return undefined;
}

function parsePermissions(text: string | undefined): z.infer<typeof permissionSchema>[] {
  if (text === undefined) return ["shell-exec:execute", "shell-exec:read"];
  const list = text.split(",").map((p) => p.trim()).filter(Boolean);
  const parsed = z.array(permissionSchema).min(1).safeParse(list);
  if (!parsed.success) throw new UsageError(`--permissions: a comma-separated list of ${PERMISSIONS.join(", ")}`);
  return parsed.data;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n") + "\n";
}

function describeKey(info: ApiKeyInfo): string[] {
  return [info.id, info.name, info.wallet, info.permissions.join(","), info.status, info.createdAt, info.expiresAt ?? "never"];
}

async function create(store: ApiKeyStore, args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      wallet: { type: "string" },
      permissions: { type: "string" },
      "expires-in": { type: "string" },
      "expires-at": { type: "string" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.name) throw new UsageError("create: --name is required");
  if (!values.wallet) throw new UsageError("create: --wallet is required");
  const expiresAt = parseExpiry(values, new Date());
  const input = { name: values.name, wallet: values.wallet, permissions: parsePermissions(values.permissions), expiresAt };
  const { key, info } = await store.create(input);
  if (values.json) {
    io.stdout(JSON.stringify({ ...info, key }) + "\n");
  } else {
    io.stdout(
      table([
        ["id:", info.id],
        ["name:", info.name],
        ["wallet:", info.wallet],
        ["permissions:", info.permissions.join(",")],
        ["expires:", info.expiresAt ?? "never"],
        ["key:", key],
      ]),
    );
  }
  io.stderr("Store the key now: only its digest is kept, it cannot be shown again.\n");
  return 0;
}

async function list(store: ApiKeyStore, args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { wallet: { type: "string" }, json: { type: "boolean", default: false } }, strict: true });
  const keys = await store.list(values.wallet);
  if (values.json) {
    io.stdout(JSON.stringify(keys) + "\n");
  } else if (keys.length === 0) {
    io.stderr("No API keys.\n");
  } else {
    io.stdout(table([["ID", "NAME", "WALLET", "PERMISSIONS", "STATUS", "CREATED", "EXPIRES"], ...keys.map(describeKey)]));
  }
  return 0;
}

async function revoke(store: ApiKeyStore, args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError("revoke: give exactly one key id");
  const id = positionals[0]!;
  const result = await store.revoke(id);
  if (result === "not-found") {
    io.stderr(`No API key ${id}.\n`);
    return 1;
  }
  io.stdout(result === "revoked" ? `Revoked ${id}.\n` : `${id} was already revoked.\n`);
  return 0;
}

/**
 * Runs one CLI command; returns the process exit code (0 done, 1 failed, 2 wrong usage). The Redis connection gives
 * up after a few seconds rather than retrying forever, as a service connection would.
 */
export async function runApiKeysCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
  connect: (url: string) => Redis = (url) =>
    createRedisConnection(url, {
      purpose: "api-keys-cli",
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      retryStrategy: (attempt) => (attempt > 3 ? null : 250),
    }),
): Promise<number> {
  const [command, ...rest] = argv;
  const commands = { create, list, revoke } as const;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.stdout(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(commands, command)) {
    io.stderr(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`);
    return 2;
  }
  let config: z.output<typeof apiKeysCliEnvSchema>;
  try {
    config = parseEnv(apiKeysCliEnvSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const redis = connect(config.REDIS_URL);
  try {
    const store = new ApiKeyStore({ redis, prefix: config.QUEUE_PREFIX });
    return await commands[command as keyof typeof commands](store, rest, io);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"))) {
      io.stderr(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof z.ZodError) {
      io.stderr(`${error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("\n")}\n`);
      return 2;
    }
    io.stderr(`Failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
