import { z } from "zod";

/** Spread into the env schema of every process that writes or reads the audit trail (API and worker). */
export const auditEnvShape = {
  /** How long audit entries are kept (approximately: trimming drops whole stream nodes). Default 30 days. */
  AUDIT_RETENTION_SECONDS: z.coerce.number().int().min(60).default(30 * 86_400),
};
