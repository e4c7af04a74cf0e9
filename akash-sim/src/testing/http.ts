import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP(S) request on its own connection (no keep-alive, so nothing lingers for the leak guard), trusting `ca`
 * for a self-signed provider certificate and presenting `cert`/`key` for mTLS.
 */
export function httpCall(
  url: string,
  options: { method?: string; headers?: Record<string, string>; ca?: string; cert?: string; key?: string; token?: string } = {},
): Promise<SimpleResponse> {
  const target = new URL(url);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? "GET",
        headers,
        agent: false,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        checkServerIdentity: () => undefined,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
