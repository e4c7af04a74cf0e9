import { createPrivateKey, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { AKASH_ADDRESS_PATTERN, AkashWallet } from "../akash/wallet.ts";
import { ConfigError } from "../config/env.ts";
import type { Logger } from "../logger.ts";

/** A wallet's mTLS client certificate for provider gateways (self-signed, CN = the wallet's address, published on chain). */
export interface WalletTlsClient {
  certPem: string;
  keyPem: string;
}

export interface KeyringEntry {
  wallet: AkashWallet;
  tls: WalletTlsClient | null;
}

/**
 * The signing keys of every wallet this installation acts for. Looked up by address (a principal's wallet); the
 * keys never leave their AkashWallet objects, and the keyring itself serialises as its addresses only.
 */
export class WalletKeyring {
  readonly #entries: ReadonlyMap<string, KeyringEntry>;
  /** The single-wallet mode wallet (AKASH_WALLET_MNEMONIC[_FILE]), or null. */
  readonly defaultAddress: string | null;

  constructor(entries: readonly KeyringEntry[], defaultAddress: string | null = null) {
    const map = new Map<string, KeyringEntry>();
    for (const entry of entries) {
      const existing = map.get(entry.wallet.address);
      // The same key from two sources is one wallet; keep a TLS pair from whichever had one.
      map.set(entry.wallet.address, { wallet: existing?.wallet ?? entry.wallet, tls: existing?.tls ?? entry.tls });
    }
    if (defaultAddress !== null && !map.has(defaultAddress)) throw new Error(`the default wallet ${defaultAddress} is not in the keyring`);
    this.#entries = map;
    this.defaultAddress = defaultAddress;
  }

  walletFor(address: string): AkashWallet | null {
    return this.#entries.get(address)?.wallet ?? null;
  }

  tlsClientFor(address: string): WalletTlsClient | null {
    return this.#entries.get(address)?.tls ?? null;
  }

  has(address: string): boolean {
    return this.#entries.has(address);
  }

  addresses(): string[] {
    return [...this.#entries.keys()].sort();
  }

  get size(): number {
    return this.#entries.size;
  }

  toJSON(): { addresses: string[]; defaultAddress: string | null } {
    return { addresses: this.addresses(), defaultAddress: this.defaultAddress };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `WalletKeyring(${this.addresses().join(", ")})`;
  }
}

/** Spread into a process's env schema (`commonEnvSchema.extend(walletKeyringEnvShape)`). */
export const walletKeyringEnvShape = {
  /** The default wallet (single-wallet mode). */
  AKASH_WALLET_MNEMONIC: z.string().optional(),
  AKASH_WALLET_MNEMONIC_FILE: z.string().optional(),
  /** A folder of `<name>.mnemonic` / `<name>.key` (64 hex) files, plus optional `<address>.crt` + `<address>.key` (PEM) mTLS pairs. */
  SHELL_EXEC_WALLET_KEYS_DIR: z.string().optional(),
  /** Path of a JSON file listing wallets (see walletKeysFileSchema). */
  SHELL_EXEC_WALLET_KEYS: z.string().optional(),
};
export const walletKeyringEnvSchema = z.object(walletKeyringEnvShape);
export type WalletKeyringEnv = z.output<typeof walletKeyringEnvSchema>;

const walletFileEntrySchema = z
  .object({
    /** Optional: asserted against the derived address, which catches a key file put under the wrong wallet. */
    address: z.string().regex(AKASH_ADDRESS_PATTERN, "an akash1… address").optional(),
    mnemonic: z.string().optional(),
    mnemonicFile: z.string().optional(),
    privateKeyHex: z.string().optional(),
    privateKeyFile: z.string().optional(),
    tlsCertFile: z.string().optional(),
    tlsKeyFile: z.string().optional(),
  })
  .strict()
  .refine((e) => [e.mnemonic, e.mnemonicFile, e.privateKeyHex, e.privateKeyFile].filter((v) => v !== undefined).length === 1, {
    message: "give exactly one of mnemonic, mnemonicFile, privateKeyHex, privateKeyFile",
  })
  .refine((e) => (e.tlsCertFile === undefined) === (e.tlsKeyFile === undefined), { message: "give tlsCertFile and tlsKeyFile together" });

/**
 * `SHELL_EXEC_WALLET_KEYS` file: `{"wallets":[{"mnemonicFile":"alice.mnemonic","tlsCertFile":"a.crt","tlsKeyFile":"a.key"},
 * {"privateKeyHex":"…","address":"akash1…"}]}` (or the bare array). Relative paths are relative to the JSON file.
 */
export const walletKeysFileSchema = z.union([z.object({ wallets: z.array(walletFileEntrySchema) }).strict(), z.array(walletFileEntrySchema)]);

interface LoadOptions {
  logger?: Logger;
}

/** Reads a key file, warning (path only) when others than the owner may read it. */
function readSecretFile(path: string, options: LoadOptions): string {
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) options.logger?.warn({ path, mode: (mode & 0o777).toString(8) }, "wallet key file is readable by group or others");
  return readFileSync(path, "utf8").trim();
}

function walletFromMnemonic(mnemonic: string, origin: string): AkashWallet {
  try {
    return AkashWallet.fromMnemonic(mnemonic);
  } catch (error) {
    // The message of AkashWallet errors carries no key material; say where the bad key came from.
    throw new ConfigError([`${origin}: ${error instanceof Error ? error.message : "not a valid mnemonic"}`]);
  }
}

function walletFromHex(hex: string, origin: string): AkashWallet {
  try {
    return AkashWallet.fromPrivateKeyHex(hex);
  } catch (error) {
    throw new ConfigError([`${origin}: ${error instanceof Error ? error.message : "not a valid private key"}`]);
  }
}

/** Checks that a TLS pair belongs to the wallet (CN = address) and that key and certificate match. */
function checkedTlsPair(address: string, certPem: string, keyPem: string, origin: string): WalletTlsClient {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw new ConfigError([`${origin}: not a PEM certificate`]);
  }
  const commonName = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  if (commonName !== address) throw new ConfigError([`${origin}: the certificate's CN is ${commonName ?? "missing"}, not ${address}`]);
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new ConfigError([`${origin}: the TLS key is not a PEM private key`]);
  }
  if (!matches) throw new ConfigError([`${origin}: the TLS key does not belong to the certificate`]);
  return { certPem, keyPem };
}

interface TlsFiles {
  certPem: string;
  keyPem: string;
  origin: string;
}

/**
 * `<name>.mnemonic` and `<name>.key` (64 hex characters) are wallet keys; `<address>.crt` with `<address>.key` holding
 * a PEM private key is that wallet's mTLS pair (a `.key` file is told apart by its content). The wallet of a pair may
 * come from any source (e.g. the default wallet). Hidden entries, such as the `..data` links of a Kubernetes secret
 * volume, are skipped.
 */
function loadKeysDir(dir: string, options: LoadOptions): { wallets: AkashWallet[]; tls: Map<string, TlsFiles> } {
  const wallets: AkashWallet[] = [];
  const tlsKeys = new Map<string, string>();
  const tlsCerts = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const match = /^(.+)\.(mnemonic|key|crt)$/.exec(name);
    if (!match) continue;
    const [, base, kind] = match as unknown as [string, string, "mnemonic" | "key" | "crt"];
    if (kind === "crt") {
      tlsCerts.set(base, readFileSync(path, "utf8"));
      continue;
    }
    const content = readSecretFile(path, options);
    if (kind === "mnemonic") wallets.push(walletFromMnemonic(content, path));
    else if (content.startsWith("-----BEGIN")) tlsKeys.set(base, content);
    else wallets.push(walletFromHex(content, path));
  }
  const issues: string[] = [];
  const tls = new Map<string, TlsFiles>();
  for (const base of new Set([...tlsKeys.keys(), ...tlsCerts.keys()])) {
    const certPem = tlsCerts.get(base);
    const keyPem = tlsKeys.get(base);
    if (!keyPem) issues.push(`${join(dir, base)}.crt: no matching ${base}.key (PEM) for the mTLS pair`);
    else if (!certPem) issues.push(`${join(dir, base)}.key: a PEM key without ${base}.crt`);
    else if (!AKASH_ADDRESS_PATTERN.test(base)) issues.push(`${join(dir, base)}.crt: mTLS files are named after the wallet's akash1… address`);
    else tls.set(base, { certPem, keyPem, origin: `${join(dir, base)}.crt` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { wallets, tls };
}

function loadKeysFile(file: string, options: LoadOptions): KeyringEntry[] {
  let parsed: z.output<typeof walletKeysFileSchema>;
  try {
    parsed = walletKeysFileSchema.parse(JSON.parse(readSecretFile(file, options)));
  } catch (error) {
    // A zod issue could quote a value: report paths and messages only, and never JSON.parse's text excerpt.
    const detail = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`).join("; ") : "not valid JSON";
    throw new ConfigError([`SHELL_EXEC_WALLET_KEYS (${file}): ${detail}`]);
  }
  const base = dirname(resolve(file));
  const at = (path: string) => resolve(base, path);
  const entries = Array.isArray(parsed) ? parsed : parsed.wallets;
  return entries.map((entry, index) => {
    const origin = `SHELL_EXEC_WALLET_KEYS (${file}) wallets[${index}]`;
    let wallet: AkashWallet;
    if (entry.mnemonic !== undefined) wallet = walletFromMnemonic(entry.mnemonic, origin);
    else if (entry.mnemonicFile !== undefined) wallet = walletFromMnemonic(readSecretFile(at(entry.mnemonicFile), options), `${origin} (${entry.mnemonicFile})`);
    else if (entry.privateKeyHex !== undefined) wallet = walletFromHex(entry.privateKeyHex, origin);
    else wallet = walletFromHex(readSecretFile(at(entry.privateKeyFile!), options), `${origin} (${entry.privateKeyFile})`);
    if (entry.address !== undefined && entry.address !== wallet.address) {
      throw new ConfigError([`${origin}: the key is wallet ${wallet.address}, not the ${entry.address} it is listed as`]);
    }
    const tls =
      entry.tlsCertFile !== undefined && entry.tlsKeyFile !== undefined
        ? checkedTlsPair(wallet.address, readFileSync(at(entry.tlsCertFile), "utf8"), readSecretFile(at(entry.tlsKeyFile), options), `${origin} (${entry.tlsCertFile})`)
        : null;
    return { wallet, tls };
  });
}

/**
 * Builds the keyring from the environment: the default wallet (AKASH_WALLET_MNEMONIC or _FILE), every wallet in
 * SHELL_EXEC_WALLET_KEYS_DIR and in the SHELL_EXEC_WALLET_KEYS file. Any bad key stops start-up with a ConfigError
 * naming the variable and file, never the key. An empty keyring is returned as is: the caller decides if it needs one.
 */
export function loadWalletKeyring(env: WalletKeyringEnv, options: LoadOptions = {}): WalletKeyring {
  const entries: KeyringEntry[] = [];
  let defaultAddress: string | null = null;
  if (env.AKASH_WALLET_MNEMONIC && env.AKASH_WALLET_MNEMONIC_FILE) {
    throw new ConfigError(["AKASH_WALLET_MNEMONIC, AKASH_WALLET_MNEMONIC_FILE: set only one"]);
  }
  const mnemonic = env.AKASH_WALLET_MNEMONIC ?? (env.AKASH_WALLET_MNEMONIC_FILE ? readSecretFile(env.AKASH_WALLET_MNEMONIC_FILE, options) : undefined);
  if (mnemonic !== undefined) {
    const wallet = walletFromMnemonic(mnemonic, env.AKASH_WALLET_MNEMONIC ? "AKASH_WALLET_MNEMONIC" : "AKASH_WALLET_MNEMONIC_FILE");
    entries.push({ wallet, tls: null });
    defaultAddress = wallet.address;
  }
  const dir = env.SHELL_EXEC_WALLET_KEYS_DIR ? loadKeysDir(env.SHELL_EXEC_WALLET_KEYS_DIR, options) : null;
  if (dir) entries.push(...dir.wallets.map((wallet) => ({ wallet, tls: null })));
  if (env.SHELL_EXEC_WALLET_KEYS) entries.push(...loadKeysFile(env.SHELL_EXEC_WALLET_KEYS, options));
  for (const [address, files] of dir?.tls ?? []) {
    const index = entries.findIndex((entry) => entry.wallet.address === address);
    if (index < 0) throw new ConfigError([`${files.origin}: no wallet ${address} in the keyring for this mTLS pair`]);
    const tls = checkedTlsPair(address, files.certPem, files.keyPem, files.origin);
    entries[index] = { wallet: entries[index]!.wallet, tls };
  }
  const keyring = new WalletKeyring(entries, defaultAddress);
  options.logger?.info({ wallets: keyring.addresses(), defaultAddress }, "wallet keyring loaded");
  return keyring;
}
