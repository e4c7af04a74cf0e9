import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCall } from "../testing/http.ts";
import { refusedUpgrade, runShell } from "../testing/shell-client.ts";
import { startTestSim, TEST_DSEQ, type TestSim } from "../testing/fixture.ts";

let t: TestSim;

beforeAll(async () => {
  t = await startTestSim({ providerHttp: true });
});

afterAll(async () => {
  await t.sim.stop();
});

const get = (path: string, options: Parameters<typeof httpCall>[1] = {}) => httpCall(`${t.url}${path}`, { ca: t.ca, ...options });

describe("unauthenticated endpoints", () => {
  it("answers /address, /version and /status without credentials", async () => {
    const address = await get("/address");
    expect(address.status).toBe(200);
    expect(address.headers["content-type"]).toBe("application/json; charset=UTF-8");
    expect(JSON.parse(address.body)).toEqual({ address: t.provider });
    const version = JSON.parse((await get("/version")).body) as { akash: { version: string }; kube: { gitVersion: string } };
    expect(version.akash.version).toMatch(/akash-sim/);
    expect(version.kube.gitVersion).toEqual(expect.any(String) as string);
    const status = JSON.parse((await get("/status")).body) as { address: string; manifest: { deployments: number } };
    expect(status.address).toBe(t.provider);
    expect(status.manifest.deployments).toBe(1);
  });

  it("serves plain HTTP too when asked", async () => {
    const address = await httpCall(`${t.sim.providers[0]!.httpUrl!}/address`);
    expect(JSON.parse(address.body)).toEqual({ address: t.provider });
  });

  it("still runs the auth middleware on them: a malformed Authorization header is 400", async () => {
    const response = await get("/status", { headers: { authorization: "Token abc" } });
    expect(response.status).toBe(400);
    expect(response.body).toBe('{"message":"invalid authorization header"}');
  });

  it("answers 404 '404 page not found' for an unrouted path and 405 with no body for another method", async () => {
    const missing = await get("/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toBe("404 page not found\n");
    const post = await get("/status", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.body).toBe("");
    const postLease = await get(`/lease/${TEST_DSEQ}/1/1/status`, { method: "POST", token: t.token() });
    expect(postLease).toMatchObject({ status: 405, body: "" });
  });
});

describe("lease status", () => {
  it("answers the services of a lease with the provider's JSON shape", async () => {
    const response = await get(`/lease/${TEST_DSEQ}/1/1/status`, { token: t.token(["status"]) });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      services: {
        web: {
          name: "web", available: 2, total: 2, uris: null, observed_generation: 1, replicas: 2, updated_replicas: 2,
          ready_replicas: 2, available_replicas: 2,
        },
        idle: {
          name: "idle", available: 0, total: 1, uris: null, observed_generation: 1, replicas: 1, updated_replicas: 1,
          ready_replicas: 0, available_replicas: 0,
        },
        fast: {
          name: "fast", available: 1, total: 1, uris: null, observed_generation: 1, replicas: 1, updated_replicas: 1,
          ready_replicas: 1, available_replicas: 1,
        },
      },
      forwarded_ports: null,
      ips: null,
    });
  });

  it("follows ready replicas changed at run time", async () => {
    t.sim.setReadyReplicas(t.lease, "web", 1);
    const body = JSON.parse((await get(`/lease/${TEST_DSEQ}/1/1/status`, { token: t.token() })).body) as { services: { web: { ready_replicas: number } } };
    expect(body.services.web.ready_replicas).toBe(1);
    t.sim.setReadyReplicas(t.lease, "web", 2);
  });

  it("answers 404 with an empty body for a lease the provider has no manifest for, or does not have", async () => {
    for (const path of [`/lease/${TEST_DSEQ}/2/1/status`, `/lease/${TEST_DSEQ}/9/1/status`, `/lease/77/1/1/status`]) {
      const response = await get(path, { token: t.token() });
      expect(response).toMatchObject({ status: 404, body: "" });
    }
  });

  it("answers 400 plain text for malformed ids", async () => {
    const bad = await get(`/lease/abc/1/1/status`, { token: t.token() });
    expect(bad.status).toBe(400);
    expect(bad.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(bad.body).toBe('strconv.ParseUint: parsing "abc": invalid syntax\n');
    const range = await get(`/lease/${TEST_DSEQ}/4294967296/1/status`, { token: t.token() });
    expect(range).toMatchObject({ status: 400, body: 'strconv.ParseUint: parsing "4294967296": value out of range\n' });
  });
});

describe("lease shell before the upgrade", () => {
  const base = () => `/lease/${TEST_DSEQ}/1/1/shell`;
  const full = { cmd0: "true", service: "web", stdin: "0", tty: "0", podIndex: "0" };

  it.each(["cmd0", "service", "stdin", "tty", "podIndex"])("answers 400 with no body when %s is missing or empty", async (name) => {
    for (const value of [undefined, ""]) {
      const query = new URLSearchParams({ ...full });
      if (value === undefined) query.delete(name);
      else query.set(name, value);
      const url = `${t.url.replace("https", "wss")}${base()}?${query.toString()}`;
      const refused = await refusedUpgrade(url, { token: t.token(), ca: t.ca });
      expect(refused).toMatchObject({ status: 400, body: "" });
    }
  });

  it("answers 400 for a podIndex strconv cannot read (base 0, 31 bits)", async () => {
    for (const podIndex of ["-1", "x", "2147483648", "08"]) {
      const url = `${t.url.replace("https", "wss")}${base()}?${new URLSearchParams({ ...full, podIndex }).toString()}`;
      expect(await refusedUpgrade(url, { token: t.token(), ca: t.ca })).toMatchObject({ status: 400, body: "" });
    }
  });

  it("answers 400 'Bad Request' to a request that is not a WebSocket handshake", async () => {
    const response = await get(`${base()}?${new URLSearchParams(full).toString()}`, { token: t.token() });
    expect(response.status).toBe(400);
    expect(response.body).toBe("Bad Request\n");
    expect(response.headers["sec-websocket-version"]).toBe("13");
  });

  it("answers 405 to a handshake that is not GET", async () => {
    const response = await get(`${base()}?${new URLSearchParams(full).toString()}`, {
      method: "POST",
      token: t.token(),
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
    }).catch((error: unknown) => error);
    expect(response).toMatchObject({ status: 405, body: "Method Not Allowed\n" });
  });

  it("answers 403 to a handshake from another origin", async () => {
    const url = `${t.url.replace("https", "wss")}${base()}?${new URLSearchParams(full).toString()}`;
    const refused = await refusedUpgrade(url, { token: t.token(), ca: t.ca, headers: { origin: "https://evil.example" } });
    expect(refused.status).toBe(403);
  });

  it("upgrades a valid request and runs the command", async () => {
    const exchange = await runShell(t.shellUrl({ argv: ["echo", "hi"] }), { token: t.token(), ca: t.ca });
    expect(exchange.stdout).toBe("hi\n");
    expect(exchange.result).toEqual({ exit_code: 0 });
  });
});
