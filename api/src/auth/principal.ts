export const PERMISSIONS = ["shell-exec:execute", "shell-exec:read", "audit:read"] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Who is calling, passed explicitly from the auth middleware to every service method. A principal acts for exactly
 * one Akash wallet: deployments are looked up with it as owner, and jobs belong to it.
 */
export interface Principal {
  /** Stable id (e.g. `key:3f9a…` for an API key): idempotency keys and rate limits are per principal. */
  id: string;
  wallet: string;
  permissions: ReadonlySet<Permission>;
  source: "api-key" | "jwt";
}

/** A way to recognise a caller from request headers; null when the headers carry no credential of its kind. */
export interface PrincipalSource {
  authenticate(headers: { authorization: string | undefined; apiKey: string | undefined }): Promise<Principal | null>;
}
