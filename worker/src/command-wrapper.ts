/**
 * The argv actually sent to the provider. The user's command runs under `timeout` inside the container, so the
 * deadline holds even when the worker or its connection goes away (the provider neither times out nor stops a
 * process whose client disconnected). Containers without `timeout` still run the command; the worker's own deadline
 * then ends the job.
 *
 * Values are embedded with POSIX single-quote escaping rather than passed as extra argv elements: the provider stops
 * reading argv at the first empty element, so an empty user argument would otherwise silently shorten the command.
 */
export const KILL_AFTER_SECONDS = 5;

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface WrapInput {
  mode: "shell" | "exec";
  command: string | null;
  argv: readonly string[] | null;
  timeoutSeconds: number;
  workdir: string | null;
}

export function wrapCommand(input: WrapInput): string[] {
  const target =
    input.mode === "shell"
      ? `sh -c ${shellQuote(input.command ?? "")}`
      : (input.argv ?? []).map((arg) => shellQuote(arg)).join(" ");
  const cd = input.workdir ? `cd ${shellQuote(input.workdir)} || exit 126; ` : "";
  const script =
    `${cd}if command -v timeout >/dev/null 2>&1; then ` +
    `exec timeout -k ${KILL_AFTER_SECONDS} ${input.timeoutSeconds} ${target}; ` +
    `else exec ${target}; fi`;
  return ["sh", "-c", script];
}

/**
 * `timeout` exits 124 when it stopped the command (137 when it had to KILL it). A command can exit 124 by itself,
 * so the exit code counts as a timeout only when the run also lasted (about) the deadline.
 */
export function isContainerTimeout(exitCode: number, durationMs: number, timeoutSeconds: number): boolean {
  return (exitCode === 124 || exitCode === 137) && durationMs >= timeoutSeconds * 1000 - 250;
}
