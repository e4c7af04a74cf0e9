/**
 * akash-sim as a process: a simulated Akash chain REST (LCD) and one provider gateway per seeded provider.
 *
 *   node akash-sim/src/bin/akash-sim.ts --seed <file> [--chain-port N] [--provider-port N] [--http] [--http-port N]
 *        [--publish-http] [--host H] [--sandbox DIR] [--ping-interval-ms N] [--no-isolate] [--lenient-jwt]
 *        [--log-level info]
 *
 * When ready it prints exactly one JSON line on stdout:
 *   {"chainUrl":"http://127.0.0.1:P","providers":[{"address":"akash1…","url":"https://127.0.0.1:Q","httpUrl":"http://…"}]}
 * Logs go to stderr. SIGTERM/SIGINT stop it: servers closed, every process it started killed.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { startAkashSim } from "../sim.ts";

const USAGE = "usage: akash-sim --seed <file> [--chain-port N] [--provider-port N] [--http] [--http-port N] [--publish-http] [--host H] [--sandbox DIR] [--ping-interval-ms N] [--no-isolate] [--lenient-jwt] [--log-level L]";

function fail(message: string): never {
  process.stderr.write(`akash-sim: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      seed: { type: "string" },
      "chain-port": { type: "string" },
      "provider-port": { type: "string" },
      http: { type: "boolean", default: false },
      "http-port": { type: "string" },
      "publish-http": { type: "boolean", default: false },
      host: { type: "string" },
      sandbox: { type: "string" },
      "ping-interval-ms": { type: "string" },
      "no-isolate": { type: "boolean", default: false },
      "lenient-jwt": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
}
try {
  args = parse();
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const { values } = args;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!values.seed) fail("--seed is required");

function port(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) fail(`--${name} must be a port number`);
  return parsed;
}

let seed: unknown;
try {
  seed = JSON.parse(readFileSync(values.seed, "utf8"));
} catch (error) {
  fail(`cannot read the seed ${values.seed}: ${error instanceof Error ? error.message : String(error)}`);
}

const logger = pino({ name: "akash-sim", level: values["log-level"] }, pino.destination(2));
const pingIntervalMs = values["ping-interval-ms"] === undefined ? undefined : Number(values["ping-interval-ms"]);
if (pingIntervalMs !== undefined && !(pingIntervalMs > 0)) fail("--ping-interval-ms must be positive");

const sim = await startAkashSim({
  seed: seed as Parameters<typeof startAkashSim>[0]["seed"],
  logger,
  host: values.host,
  chainPort: port("chain-port", values["chain-port"]),
  providerPort: port("provider-port", values["provider-port"]),
  providerHttp: values.http || values["publish-http"],
  providerHttpPort: port("http-port", values["http-port"]),
  publishHostUri: values["publish-http"] ? "http" : "https",
  sandboxRoot: values.sandbox,
  pingIntervalMs,
  isolatePaths: !values["no-isolate"],
  strictJwtSchema: !values["lenient-jwt"],
}).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));

process.stdout.write(
  `${JSON.stringify({
    chainUrl: sim.chainUrl,
    providers: sim.providers.map(({ address, url, httpUrl }) => ({ address, url, ...(httpUrl ? { httpUrl } : {}) })),
  })}\n`,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  sim.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, "stop failed");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
