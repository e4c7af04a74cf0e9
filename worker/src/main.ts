import { createLogger } from "@shell-exec/shared/logger.ts";
import { loadWorkerConfig } from "./config.ts";
import { startWorker } from "./start-worker.ts";

const config = loadWorkerConfig();
const logger = createLogger({ name: "shell-exec-worker", level: config.LOG_LEVEL });
if (!config.REDIS_URL) {
  logger.fatal("REDIS_URL is required (the local stack `scripts/up.sh` sets it)");
  process.exit(1);
}
const worker = await startWorker({ ...config, REDIS_URL: config.REDIS_URL }, logger);
process.send?.({ ready: true, workerId: worker.workerId });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down: taking no new jobs, letting running ones finish");
  const force = setTimeout(() => {
    // Jobs still running are left to BullMQ's stall detection: another worker ends them WORKER_LOST (if sent) or
    // runs them (if not), so nothing runs twice.
    logger.warn("shutdown grace period over: exiting with jobs still running");
    process.exit(1);
  }, config.SHUTDOWN_GRACE_SECONDS * 1000);
  force.unref();
  await worker.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
