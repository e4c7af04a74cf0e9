export * from "./config/env.ts";
export * from "./logger.ts";
export * from "./redis/connection.ts";
export * from "./redis/redis-server.ts";
export * from "./akash/wallet.ts";
export * from "./akash/provider-jwt.ts";
export * from "./lease-shell/frames.ts";
export * from "./exec/lease-shell-types.ts";
