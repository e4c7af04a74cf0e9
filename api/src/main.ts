import { createLogger } from "@shell-exec/shared/logger.ts";
import { loadApiConfig } from "./config.ts";
import { startApi } from "./start-api.ts";

const config = loadApiConfig();
const logger = createLogger({ name: "shell-exec-api", level: config.LOG_LEVEL });
if (!config.REDIS_URL) {
  logger.fatal("REDIS_URL is required (the local stack `scripts/up.sh` sets it)");
  process.exit(1);
}
const api = await startApi({ ...config, REDIS_URL: config.REDIS_URL }, logger);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down: no new requests, finishing open ones");
  const force = setTimeout(() => {
    logger.warn("shutdown grace period over: exiting");
    process.exit(1);
  }, config.SHUTDOWN_GRACE_SECONDS * 1000);
  force.unref();
  await api.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
