/**
 * The argv actually sent to the provider: `sh -c <script>`. The script
 * 1. records its pid under /tmp/.shell-exec/<job>.pid, so a cancel can stop the command through a second exec
 *    (the provider does not stop a process whose client went away);
 * 2. reads the job's secret-grade inputs from stdin, each an exact byte count (the provider has no end-of-input):
 *    files (written to a temporary file in the same directory, mode applied, renamed into place), then env values,
 *    then the command's own stdin (into an unlinked temporary file, so the command sees a real end of input);
 * 3. execs the command under `timeout`, so the deadline holds inside the container even if the worker or its
 *    connection goes away. `timeout` makes itself a process group leader with the pid recorded in step 1, which is
 *    the group a cancel kills. Containers without `timeout` still run the command; the worker's deadline then ends
 *    the job.
 * Values are embedded with POSIX single-quote escaping rather than passed as extra argv elements: the provider stops
 * reading argv at the first empty element, so an empty argument would otherwise silently shorten the command. No
 * secret value is ever part of the script (argv travels in the URL, which providers log).
 */
export const KILL_AFTER_SECONDS = 5;
export const PID_DIR = "/tmp/.shell-exec";
/** Exit code of the script when delivering files or variables failed (before the command ran). */
export const DELIVERY_FAILED_EXIT = 125;

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface DeliveryPlan {
  files: readonly { path: string; mode: string; bytes: number }[];
  env: readonly { name: string; bytes: number }[];
  stdinBytes: number | null;
}

export interface WrapInput {
  jobId: string;
  mode: "shell" | "exec";
  command: string | null;
  argv: readonly string[] | null;
  timeoutSeconds: number;
  workdir: string | null;
  delivery?: DeliveryPlan;
}

export function pidFile(jobId: string): string {
  return `${PID_DIR}/${jobId.replace(/[^A-Za-z0-9_-]/g, "_")}.pid`;
}

export function wrapCommand(input: WrapInput): string[] {
  const target =
    input.mode === "shell"
      ? `sh -c ${shellQuote(input.command ?? "")}`
      : (input.argv ?? []).map((arg) => shellQuote(arg)).join(" ");
  const delivery = input.delivery ?? { files: [], env: [], stdinBytes: null };
  const lines: string[] = [
    "umask 077",
    `mkdir -p ${PID_DIR} 2>/dev/null && echo $$ > ${pidFile(input.jobId)} 2>/dev/null`,
  ];
  delivery.files.forEach((file, index) => {
    const path = shellQuote(file.path);
    lines.push(
      `d=$(dirname ${path}) && mkdir -p "$d" && t="$d/.shell-exec.$$.${index}.tmp" && ` +
        `head -c ${file.bytes} > "$t" && chmod ${file.mode} "$t" && mv -f "$t" ${path} || ` +
        `{ rm -f "$t"; echo "shell-exec: could not write ${file.path.replaceAll("'", "")}" >&2; exit ${DELIVERY_FAILED_EXIT}; }`,
    );
  });
  for (const variable of delivery.env) {
    lines.push(`v="$(head -c ${variable.bytes}; echo x)"; ${variable.name}="\${v%x}"; export ${variable.name}; unset v`);
  }
  let stdinRedirect = "</dev/null";
  if (delivery.stdinBytes !== null) {
    lines.push(
      'i=$(mktemp "${TMPDIR:-/tmp}/.shell-exec-in.XXXXXX") || exit ' + DELIVERY_FAILED_EXIT,
      `head -c ${delivery.stdinBytes} > "$i" || exit ${DELIVERY_FAILED_EXIT}`,
      'exec 3< "$i"; rm -f "$i"',
    );
    stdinRedirect = "<&3 3<&-";
  }
  if (input.workdir) lines.push(`cd ${shellQuote(input.workdir)} || exit 126`);
  lines.push(
    `if command -v timeout >/dev/null 2>&1; then exec timeout -k ${KILL_AFTER_SECONDS} ${input.timeoutSeconds} ${target} ${stdinRedirect}; ` +
      `else exec ${target} ${stdinRedirect}; fi`,
  );
  return ["sh", "-c", lines.join("\n")];
}

/**
 * The second exec that stops a running job's command: TERM to its process group (or the process), KILL after a
 * grace period, then reports on stdout whether it is gone: `killed`, `not-running` or `still-running`.
 */
export function cancelCommand(jobId: string, graceSeconds = 3): string[] {
  const file = pidFile(jobId);
  const script = [
    `p=$(cat ${file} 2>/dev/null) || { echo not-running; exit 0; }`,
    'kill -0 "$p" 2>/dev/null || { rm -f ' + file + "; echo not-running; exit 0; }",
    'kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null',
    `n=0; while kill -0 "$p" 2>/dev/null && [ $n -lt ${graceSeconds * 10} ]; do sleep 0.1; n=$((n+1)); done`,
    'kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; sleep 0.1',
    'if kill -0 "$p" 2>/dev/null; then echo still-running; else rm -f ' + file + "; echo killed; fi",
  ].join("\n");
  return ["sh", "-c", script];
}

/**
 * `timeout` exits 124 when it stopped the command (137 when it had to KILL it). A command can exit 124 by itself,
 * so the exit code counts as a timeout only when the run also lasted (about) the deadline.
 */
export function isContainerTimeout(exitCode: number, durationMs: number, timeoutSeconds: number): boolean {
  return (exitCode === 124 || exitCode === 137) && durationMs >= timeoutSeconds * 1000 - 250;
}
