import type { MiddlewareHandler } from "hono";
import type { Permission, Principal, PrincipalSource } from "../auth/principal.ts";
import { ForbiddenError, UnauthenticatedError } from "../errors.ts";

export type AuthEnv = { Variables: { principal: Principal; requestId: string } };

/** Tries each source in turn; the first that recognises the credentials decides. */
export function authenticate(sources: readonly PrincipalSource[]): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const headers = { authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") };
    if (!headers.authorization && !headers.apiKey) throw new UnauthenticatedError();
    for (const source of sources) {
      const principal = await source.authenticate(headers);
      if (principal) {
        c.set("principal", principal);
        return next();
      }
    }
    throw new UnauthenticatedError("The credentials are not valid (unknown, revoked or expired).");
  };
}

export function requirePermission(principal: Principal, permission: Permission): void {
  if (!principal.permissions.has(permission)) throw new ForbiddenError(permission);
}
