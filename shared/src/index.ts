export * from "./config/env.ts";
export * from "./logger.ts";
export * from "./redis/connection.ts";
export * from "./redis/redis-server.ts";
