import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { ChainRestClient } from "@shell-exec/shared/akash/chain-client.ts";
import { providerToken, runShell, shellUrl } from "../testing/shell-client.ts";
import { httpCall } from "../testing/http.ts";

const BIN = fileURLToPath(new URL("./akash-sim.ts", import.meta.url));
const DEV_WALLET_BIN = fileURLToPath(new URL("./dev-wallet.ts", import.meta.url));
const EXAMPLE_SEED = fileURLToPath(new URL("../../seed.example.json", import.meta.url));
const MB = 1024 * 1024;

interface Ready {
  chainUrl: string;
  providers: { address: string; url: string; httpUrl?: string }[];
}

function startBin(args: string[]): { child: ChildProcess; ready: Promise<Ready>; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<Ready>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => resolve(JSON.parse(line) as Ready));
    child.once("exit", (code) => reject(new Error(`akash-sim exited (${code}) before it was ready: ${stderr}`)));
  });
  ready.catch(() => undefined); // awaited by the tests that expect a start

  return { child, ready, exited, stderr: () => stderr };
}

function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

describe("akash-sim bin", () => {
  it("starts from the example seed, prints one JSON line, serves chain and provider, streams 100 MB in bounded memory, stops on SIGTERM", async () => {
    const seed = JSON.parse(readFileSync(EXAMPLE_SEED, "utf8")) as { wallets: { mnemonic?: string }[] };
    const dev = AkashWallet.fromMnemonic(seed.wallets[0]!.mnemonic!);
    const bin = startBin(["--seed", EXAMPLE_SEED, "--http", "--log-level", "warn"]);
    try {
      const ready = await bin.ready;
      expect(Object.keys(ready)).toEqual(["chainUrl", "providers"]);
      expect(ready.providers).toHaveLength(1);
      const provider = ready.providers[0]!;
      expect(Object.keys(provider)).toEqual(["address", "url", "httpUrl"]);

      const chain = new ChainRestClient({ baseUrl: ready.chainUrl });
      expect(await chain.getDeployment(dev.address, "1")).toMatchObject({ state: "active" });
      const onChain = await chain.getProvider(provider.address);
      expect(onChain?.hostUri).toBe(provider.url);
      const [certificate] = await chain.listCertificates(provider.address);
      expect(certificate).toContain("BEGIN CERTIFICATE");

      const token = providerToken({ wallet: dev, provider: provider.address });
      const lease = { dseq: "1", gseq: 1, oseq: 1 };
      const hello = await runShell(shellUrl(provider.url, lease, { argv: ["sh", "-c", "echo $APP_MODE; cat etc/app.conf"] }), { token, ca: certificate });
      expect(hello.stdout).toBe("demo\nlisten=8080\n");

      const plain = await httpCall(`${provider.httpUrl!}/lease/1/1/1/status`, { token });
      expect(plain.status).toBe(200);

      // Stream 100 MB twice from a real process. The sim's peak resident memory grows once, by a few MB of buffers
      // and the garbage V8 lets pile up before it collects (external memory, ~64 MB), and not again: nothing of the
      // output is held.
      const stream = () =>
        runShell(shellUrl(provider.url, lease, { argv: ["head", "-c", String(100 * MB), "/dev/zero"] }), { token, ca: certificate, keepOutput: false });
      const before = memory(bin.child.pid!);
      const first = await stream();
      const afterFirst = memory(bin.child.pid!);
      const second = await stream();
      const afterSecond = memory(bin.child.pid!);
      for (const big of [first, second]) {
        expect(big.stdoutBytes).toBe(100 * MB);
        expect(big.result).toEqual({ exit_code: 0 });
      }
      const firstGrowth = afterFirst.peak - Math.max(before.peak, before.rss);
      const secondGrowth = afterSecond.peak - afterFirst.peak;
      process.stderr.write(`[akash-sim bin] peak RSS ${(before.peak / MB).toFixed(0)} MB → ${(afterFirst.peak / MB).toFixed(0)} MB after 100 MB → ${(afterSecond.peak / MB).toFixed(0)} MB after 200 MB\n`);
      expect(firstGrowth).toBeLessThan(90 * MB);
      expect(secondGrowth).toBeLessThan(24 * MB);

      bin.child.kill("SIGTERM");
      expect(await bin.exited).toBe(0);
    } finally {
      bin.child.kill("SIGKILL");
      await bin.exited;
    }
  });

  it("refuses to start without a seed, and with an invalid one", async () => {
    const missing = startBin([]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain("--seed is required");
    const bad = startBin(["--seed", BIN]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain("cannot read the seed");
  });
});

describe("dev-wallet bin", () => {
  it("prints a fresh mnemonic with the address it derives", async () => {
    const child = spawn(process.execPath, [DEV_WALLET_BIN], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    await new Promise((resolve) => child.once("close", resolve));
    const printed = JSON.parse(out) as { address: string; publicKey: string; mnemonic: string };
    const wallet = AkashWallet.fromMnemonic(printed.mnemonic);
    expect(printed.address).toBe(wallet.address);
    expect(printed.publicKey).toBe(wallet.publicKeyHex);
    expect(printed.mnemonic.split(" ")).toHaveLength(24);
  });
});
