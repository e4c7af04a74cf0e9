import { z } from "zod";

/**
 * The secret-grade inputs of one job, as the worker delivers them: all of it travels to the container as one stdin
 * stream (files, then env values, then the command's own stdin), each part with an exact byte count, because the
 * provider cannot signal end of input. Nothing secret ever goes into the URL (argv), which providers log.
 */
export interface SecretBundle {
  stdin: Buffer | null;
  files: { path: string; mode: string; content: Buffer }[];
  env: { name: string; value: Buffer }[];
}

const wireSchema = z.object({
  stdin: z.string().nullable(),
  files: z.array(z.object({ path: z.string(), mode: z.string(), content: z.string() })),
  env: z.array(z.object({ name: z.string(), value: z.string() })),
});

export function isEmptyBundle(bundle: SecretBundle): boolean {
  return bundle.stdin === null && bundle.files.length === 0 && bundle.env.length === 0;
}

export function serializeBundle(bundle: SecretBundle): Buffer {
  return Buffer.from(
    JSON.stringify({
      stdin: bundle.stdin?.toString("base64") ?? null,
      files: bundle.files.map((f) => ({ path: f.path, mode: f.mode, content: f.content.toString("base64") })),
      env: bundle.env.map((e) => ({ name: e.name, value: e.value.toString("base64") })),
    }),
  );
}

export function deserializeBundle(bytes: Buffer): SecretBundle {
  const wire = wireSchema.parse(JSON.parse(bytes.toString("utf8")));
  return {
    stdin: wire.stdin === null ? null : Buffer.from(wire.stdin, "base64"),
    files: wire.files.map((f) => ({ path: f.path, mode: f.mode, content: Buffer.from(f.content, "base64") })),
    env: wire.env.map((e) => ({ name: e.name, value: Buffer.from(e.value, "base64") })),
  };
}

/** Every secret value, for scrubbing output. */
export function secretValues(bundle: SecretBundle): Buffer[] {
  return [...(bundle.stdin ? [bundle.stdin] : []), ...bundle.files.map((f) => f.content), ...bundle.env.map((e) => e.value)];
}

/** The single stdin stream the wrapper script reads, in the order it reads it. */
export function deliveryStream(bundle: SecretBundle): Buffer {
  return Buffer.concat([...bundle.files.map((f) => f.content), ...bundle.env.map((e) => e.value), bundle.stdin ?? Buffer.alloc(0)]);
}
