import { describe, expect, it } from "vitest";
import { buildLeaseShellUrl, InvalidLeaseShellRequestError, type LeaseShellUrlInput } from "./lease-shell-url.ts";

const base: LeaseShellUrlInput = {
  hostUri: "https://provider.example.com:8443",
  dseq: "1234567",
  gseq: 1,
  oseq: 2,
  service: "web",
  podIndex: 0,
  argv: ["sh", "-c", "echo hi; echo oops 1>&2; exit 3"],
};

describe("buildLeaseShellUrl", () => {
  it("builds the provider's query: cmd0..N, service, stdin, tty=0, podIndex", () => {
    const url = buildLeaseShellUrl(base);
    expect(url.protocol).toBe("wss:");
    expect(url.host).toBe("provider.example.com:8443");
    expect(url.pathname).toBe("/lease/1234567/1/2/shell");
    expect([...url.searchParams.entries()]).toEqual([
      ["cmd0", "sh"],
      ["cmd1", "-c"],
      ["cmd2", "echo hi; echo oops 1>&2; exit 3"],
      ["service", "web"],
      ["stdin", "0"],
      ["tty", "0"],
      ["podIndex", "0"],
    ]);
  });

  it("uses ws:// for an http host_uri and keeps a path prefix", () => {
    const url = buildLeaseShellUrl({ ...base, hostUri: "http://127.0.0.1:8080/gw/" });
    expect(url.protocol).toBe("ws:");
    expect(url.pathname).toBe("/gw/lease/1234567/1/2/shell");
  });

  it("says stdin=1 only when stdin is present, even empty", () => {
    expect(buildLeaseShellUrl({ ...base, stdin: Buffer.from("x") }).searchParams.get("stdin")).toBe("1");
    expect(buildLeaseShellUrl({ ...base, stdin: Buffer.alloc(0) }).searchParams.get("stdin")).toBe("1");
    expect(buildLeaseShellUrl({ ...base, stdin: undefined }).searchParams.get("stdin")).toBe("0");
  });

  it("round-trips every argv byte, including &, =, +, %, #, newlines and non-ASCII", () => {
    const argv = ["printf", "%s\n", "a&b=c+d%20e#f?g", "zé 漢字 🙂", "line1\nline2", " spaced "];
    const url = buildLeaseShellUrl({ ...base, argv, podIndex: 3 });
    // Parse the query as Go's url.ParseQuery does ('+' is a space, percent-escapes decoded).
    const query = new URLSearchParams(url.search);
    const decoded: string[] = [];
    for (let i = 0; query.get(`cmd${i}`); i++) decoded.push(query.get(`cmd${i}`)!);
    expect(decoded).toEqual(argv);
    expect(query.get("podIndex")).toBe("3");
    expect(url.hash).toBe("");
  });

  it("rejects an empty argv element with a typed error naming it", () => {
    const attempt = () => buildLeaseShellUrl({ ...base, argv: ["echo", "", "after"] });
    expect(attempt).toThrow(InvalidLeaseShellRequestError);
    expect(attempt).toThrow(/argv\[1\] is empty/);
    try {
      attempt();
    } catch (error) {
      expect((error as InvalidLeaseShellRequestError).field).toBe("argv[1]");
    }
  });

  it.each([
    ["empty argv", { argv: [] }, "argv"],
    ["empty service", { service: "" }, "service"],
    ["negative pod index", { podIndex: -1 }, "podIndex"],
    ["fractional pod index", { podIndex: 1.5 }, "podIndex"],
    ["zero gseq", { gseq: 0 }, "gseq"],
    ["non-numeric dseq", { dseq: "12a" }, "dseq"],
    ["dseq with path", { dseq: "1/../2" }, "dseq"],
    ["ftp host", { hostUri: "ftp://provider.example.com" }, "hostUri"],
    ["not a URL", { hostUri: "provider.example.com:8443" }, "hostUri"],
    ["credentials", { hostUri: "https://user:pw@provider.example.com" }, "hostUri"],
  ] as const)("rejects %s", (_name, patch, field) => {
    try {
      buildLeaseShellUrl({ ...base, ...patch });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidLeaseShellRequestError);
      expect((error as InvalidLeaseShellRequestError).field).toBe(field);
    }
  });
});
