/**
 * Removes secret values from command output before it is stored. A command that echoes a secret (or `cat`s a file
 * it was given) must not turn the job record into a copy of it. Each secret is searched for as raw bytes and in the
 * encodings output most often carries it in: base64 (standard and URL-safe), hex and percent-encoding. Values
 * shorter than MIN_SCRUB_BYTES are not searched: replacing every "1" or "ok" would destroy output and hide nothing.
 */
export const REDACTION_MARKER = Buffer.from("[REDACTED]");
export const MIN_SCRUB_BYTES = 4;

export function secretVariants(secret: Buffer): Buffer[] {
  if (secret.length < MIN_SCRUB_BYTES) return [];
  const variants = new Set<string>();
  const add = (value: string) => {
    if (value.length >= MIN_SCRUB_BYTES) variants.add(value);
  };
  const base64 = secret.toString("base64");
  add(base64);
  add(base64.replace(/=+$/, ""));
  add(secret.toString("base64url"));
  add(secret.toString("hex"));
  add(secret.toString("hex").toUpperCase());
  const text = secret.toString("utf8");
  add(encodeURIComponent(text));
  add(JSON.stringify(text).slice(1, -1));
  const result = [secret];
  for (const variant of variants) {
    const bytes = Buffer.from(variant);
    if (!bytes.equals(secret)) result.push(bytes);
  }
  // Longest first, so a value that contains another is replaced whole.
  return result.sort((a, b) => b.length - a.length);
}

export function scrubSecrets(output: Buffer, secrets: readonly Buffer[]): { output: Buffer; redactions: number } {
  const needles = secrets.flatMap((secret) => {
    // A multi-line secret (a key file) is also searched line by line, as output often re-wraps it.
    const lines = secret.toString("utf8").split(/\r?\n/).filter((line) => Buffer.byteLength(line) >= 16);
    return [secret, ...lines.map((line) => Buffer.from(line))].flatMap(secretVariants);
  });
  if (needles.length === 0 || output.length === 0) return { output, redactions: 0 };
  needles.sort((a, b) => b.length - a.length);
  let current = output;
  let redactions = 0;
  for (const needle of needles) {
    let index = current.indexOf(needle);
    if (index === -1) continue;
    const parts: Buffer[] = [];
    let start = 0;
    while (index !== -1) {
      parts.push(current.subarray(start, index), REDACTION_MARKER);
      redactions++;
      start = index + needle.length;
      index = current.indexOf(needle, start);
    }
    parts.push(current.subarray(start));
    current = Buffer.concat(parts);
  }
  return { output: current, redactions };
}
