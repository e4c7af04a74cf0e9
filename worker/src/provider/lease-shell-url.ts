import type { LeaseShellRequest } from "@shell-exec/shared/exec/lease-shell-types.ts";

/**
 * The lease-shell WebSocket URL, as akash-network/provider gateway/rest/router.go (leaseShellHandler) reads it:
 * `cmd0..cmdN` until the first missing or empty one, then `service`, `stdin`, `tty`, `podIndex`, all required.
 * chain-sdk's go/provider/client/client_shell.go builds the same query.
 */

export type LeaseShellUrlInput = Pick<LeaseShellRequest, "hostUri" | "dseq" | "gseq" | "oseq" | "service" | "podIndex" | "argv" | "stdin">;

/** The request cannot be expressed as a lease-shell URL: a caller's bug, never something the provider did. */
export class InvalidLeaseShellRequestError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "InvalidLeaseShellRequestError";
    this.field = field;
  }
}

const DSEQ = /^[1-9]\d{0,19}$/;
const MAX_UINT32 = 0xffff_ffff;
// The provider parses podIndex with strconv.ParseUint(s, 0, 31).
const MAX_POD_INDEX = 0x7fff_ffff;

export function buildLeaseShellUrl(input: LeaseShellUrlInput): URL {
  const base = parseHostUri(input.hostUri);
  if (!DSEQ.test(input.dseq)) throw new InvalidLeaseShellRequestError("dseq", `dseq ${JSON.stringify(input.dseq)} is not a positive integer`);
  requireInteger("gseq", input.gseq, 1, MAX_UINT32);
  requireInteger("oseq", input.oseq, 1, MAX_UINT32);
  requireInteger("podIndex", input.podIndex, 0, MAX_POD_INDEX);
  if (input.service.length === 0) throw new InvalidLeaseShellRequestError("service", "service is empty");
  if (input.argv.length === 0) throw new InvalidLeaseShellRequestError("argv", "argv is empty: the provider needs cmd0");
  input.argv.forEach((element, index) => {
    if (element.length === 0) {
      throw new InvalidLeaseShellRequestError(
        `argv[${index}]`,
        `argv[${index}] is empty: the provider stops reading argv at an empty element and would run a truncated command`,
      );
    }
  });

  const url = new URL(base);
  url.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  const prefix = base.pathname.replace(/\/+$/, "");
  url.pathname = `${prefix}/lease/${input.dseq}/${input.gseq}/${input.oseq}/shell`;
  const query = new URLSearchParams();
  input.argv.forEach((element, index) => query.set(`cmd${index}`, element));
  query.set("service", input.service);
  query.set("stdin", input.stdin === undefined ? "0" : "1");
  query.set("tty", "0");
  query.set("podIndex", String(input.podIndex));
  url.search = query.toString();
  url.hash = "";
  return url;
}

/** The provider's host_uri: http(s) only, no credentials, no query. */
export function parseHostUri(hostUri: string): URL {
  let url: URL;
  try {
    url = new URL(hostUri);
  } catch {
    throw new InvalidLeaseShellRequestError("hostUri", `hostUri ${JSON.stringify(hostUri)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InvalidLeaseShellRequestError("hostUri", `hostUri must be https:// (or http:// for local runs), not ${url.protocol}`);
  }
  if (url.username || url.password) throw new InvalidLeaseShellRequestError("hostUri", "hostUri must not carry credentials");
  if (url.search || url.hash) throw new InvalidLeaseShellRequestError("hostUri", "hostUri must not carry a query or fragment");
  return url;
}

function requireInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidLeaseShellRequestError(field, `${field} ${value} is not an integer in [${min}, ${max}]`);
  }
}
