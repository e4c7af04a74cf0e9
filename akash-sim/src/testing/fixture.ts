import type { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import type { LeaseAction } from "@shell-exec/shared/akash/provider-jwt.ts";
import { startAkashSim, type AkashSim, type StartAkashSimOptions } from "../sim.ts";
import type { ServiceSeed } from "../seed.ts";
import { freshWallet, providerToken, runShell, shellUrl, type ConnectOptions, type ShellExchange, type ShellQuery } from "./shell-client.ts";

/**
 * A ready sim for tests: one owner, one provider, deployment 1000 with lease 1/1 (services `web` ×2, `idle` with no
 * ready replica, `fast` answered in-process) and lease 2/1 whose manifest the provider never got.
 */
export interface TestSim {
  sim: AkashSim;
  owner: AkashWallet;
  provider: string;
  /** The provider's certificate, to pin in clients. */
  ca: string;
  url: string;
  lease: { dseq: string; gseq: number; oseq: number };
  token(scope?: LeaseAction[]): string;
  shellUrl(query: ShellQuery, lease?: { dseq: string | number; gseq: number; oseq: number }): string;
  shell(query: ShellQuery, options?: ConnectOptions): Promise<ShellExchange>;
}

export const TEST_DSEQ = "1000";

export async function startTestSim(
  options: Partial<Omit<StartAkashSimOptions, "seed">> & { services?: ServiceSeed[] } = {},
): Promise<TestSim> {
  const owner = freshWallet();
  const services: ServiceSeed[] = options.services ?? [
    { name: "web", replicas: 2, env: { GREETING: "hello from web" }, files: { "/run/secrets/db_password": "s3cret\n", "/etc/app.conf": "mode=test\n" } },
    { name: "idle", replicas: 1, readyReplicas: 0 },
    { name: "fast", responder: { mode: "fast", stdout: "fast-out\n", stderr: "fast-err\n", exitCode: 3 } },
  ];
  const sim = await startAkashSim({
    pingIntervalMs: 10_000,
    ...options,
    seed: {
      wallets: [{ name: "owner", address: owner.address, publicKey: owner.publicKeyHex }],
      providers: [{ name: "p1" }],
      deployments: [
        {
          owner: "owner",
          dseq: TEST_DSEQ,
          leases: [
            { gseq: 1, oseq: 1, provider: "p1", services },
            { gseq: 2, oseq: 1, provider: "p1", manifest: false, services: [{ name: "web" }] },
          ],
        },
      ],
    },
  });
  const provider = sim.providers[0]!;
  const lease = { dseq: TEST_DSEQ, gseq: 1, oseq: 1 };
  const token = (scope: LeaseAction[] = ["shell", "status"]) => providerToken({ wallet: owner, provider: provider.address, scope });
  return {
    sim,
    owner,
    provider: provider.address,
    ca: provider.certificatePem,
    url: provider.url,
    lease,
    token,
    shellUrl: (query, target = lease) => shellUrl(provider.url, target, query),
    shell: (query, connect = {}) =>
      runShell(shellUrl(provider.url, lease, query), { token: token(), ca: provider.certificatePem, ...connect }),
  };
}

export { freshWallet };
