import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { inspect } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AkashWallet } from "../akash/wallet.ts";
import { ConfigError } from "../config/env.ts";
import { loadWalletKeyring, walletKeyringEnvSchema, type WalletKeyringEnv } from "./wallet-keyring.ts";

function selfSignedPair(dir: string, name: string, commonName: string): { certPem: string; keyPem: string } {
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.tmpkey`, "-out", `${name}.tmpcrt`, "-days", "2", "-subj", `/CN=${commonName}`],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  const pair = { certPem: readFileSync(join(dir, `${name}.tmpcrt`), "utf8"), keyPem: readFileSync(join(dir, `${name}.tmpkey`), "utf8") };
  rmSync(join(dir, `${name}.tmpcrt`));
  rmSync(join(dir, `${name}.tmpkey`));
  return pair;
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), lines };
}

function env(values: Partial<Record<keyof WalletKeyringEnv, string>>): WalletKeyringEnv {
  return walletKeyringEnvSchema.parse(values);
}

describe("loadWalletKeyring", () => {
  let root: string;
  const defaultMnemonic = AkashWallet.generateMnemonic();
  const dirMnemonic = AkashWallet.generateMnemonic();
  const dirHex = randomBytes(32).toString("hex");
  const fileMnemonic = AkashWallet.generateMnemonic();
  const fileHex = randomBytes(32).toString("hex");
  const secrets = [defaultMnemonic, dirMnemonic, dirHex, fileMnemonic, fileHex];
  const addresses = {
    default: AkashWallet.fromMnemonic(defaultMnemonic).address,
    dirMnemonic: AkashWallet.fromMnemonic(dirMnemonic).address,
    dirHex: AkashWallet.fromPrivateKeyHex(dirHex).address,
    fileMnemonic: AkashWallet.fromMnemonic(fileMnemonic).address,
    fileHex: AkashWallet.fromPrivateKeyHex(fileHex).address,
  };
  let dirHexTls: { certPem: string; keyPem: string };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "keyring-"));
    const keys = join(root, "keys");
    mkdirSync(keys);
    writeSecret(join(keys, "team-a.mnemonic"), `${dirMnemonic}\n`);
    writeSecret(join(keys, "team-b.key"), `0x${dirHex}\n`);
    dirHexTls = selfSignedPair(root, "b", addresses.dirHex);
    writeFileSync(join(keys, `${addresses.dirHex}.crt`), dirHexTls.certPem);
    writeSecret(join(keys, `${addresses.dirHex}.key`), dirHexTls.keyPem);
    writeFileSync(join(keys, "README.txt"), "not a key");
    // A Kubernetes secret volume: hidden `..data` folder and links to it.
    mkdirSync(join(keys, "..2030_01_01"));
    symlinkSync("..2030_01_01", join(keys, "..data"));

    writeSecret(join(root, "c.mnemonic"), fileMnemonic);
    writeSecret(join(root, "wallets.json"), JSON.stringify({ wallets: [{ mnemonicFile: "c.mnemonic" }, { privateKeyHex: fileHex, address: addresses.fileHex }] }));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("holds the default wallet and every wallet from the folder and the JSON file, by address", () => {
    const keyring = loadWalletKeyring(
      env({ AKASH_WALLET_MNEMONIC: defaultMnemonic, SHELL_EXEC_WALLET_KEYS_DIR: join(root, "keys"), SHELL_EXEC_WALLET_KEYS: join(root, "wallets.json") }),
    );
    expect(keyring.addresses()).toEqual(Object.values(addresses).sort());
    expect(keyring.defaultAddress).toBe(addresses.default);
    for (const address of Object.values(addresses)) expect(keyring.walletFor(address)?.address).toBe(address);
    expect(keyring.walletFor("akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh")).toBeNull();
    expect(keyring.tlsClientFor(addresses.dirHex)).toEqual({ certPem: dirHexTls.certPem, keyPem: dirHexTls.keyPem.trim() });
    expect(keyring.tlsClientFor(addresses.dirMnemonic)).toBeNull();
    // The wallet signs as itself: its key really is the one from the file.
    const wallet = keyring.walletFor(addresses.dirHex)!;
    expect(wallet.publicKeyHex).toBe(AkashWallet.fromPrivateKeyHex(dirHex).publicKeyHex);
  });

  it("reads the default wallet from a file, and gives an empty keyring when nothing is configured", () => {
    writeSecret(join(root, "default.mnemonic"), defaultMnemonic);
    const keyring = loadWalletKeyring(env({ AKASH_WALLET_MNEMONIC_FILE: join(root, "default.mnemonic") }));
    expect(keyring.addresses()).toEqual([addresses.default]);
    expect(loadWalletKeyring(env({})).size).toBe(0);
  });

  it("never puts key material in logs, serialisations or inspections", () => {
    const { logger, lines } = capturingLogger();
    const keyring = loadWalletKeyring(
      env({ AKASH_WALLET_MNEMONIC: defaultMnemonic, SHELL_EXEC_WALLET_KEYS_DIR: join(root, "keys"), SHELL_EXEC_WALLET_KEYS: join(root, "wallets.json") }),
      { logger },
    );
    logger.info({ keyring, wallet: keyring.walletFor(addresses.dirHex) }, "careless log line");
    const surfaces = [lines.join(""), JSON.stringify(keyring), inspect(keyring, { depth: 10 }), inspect(keyring.walletFor(addresses.default), { depth: 10 })];
    expect(lines.join("")).toContain(addresses.fileHex);
    for (const surface of surfaces) {
      for (const secret of secrets) expect(surface).not.toContain(secret.split(" ").slice(0, 3).join(" "));
      expect(surface).not.toContain(dirHexTls.keyPem.split("\n")[1]);
    }
  });

  it("refuses a bad key with an error naming the file, never quoting it", () => {
    const bad = join(root, "bad");
    mkdirSync(bad);
    const almost = `${dirMnemonic.split(" ").slice(0, -1).join(" ")} zoo`;
    writeSecret(join(bad, "x.mnemonic"), almost);
    const error = (() => {
      try {
        loadWalletKeyring(env({ SHELL_EXEC_WALLET_KEYS_DIR: bad }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(join(bad, "x.mnemonic"));
    expect((error as Error).message).not.toContain(almost.split(" ").slice(0, 3).join(" "));

    writeSecret(join(root, "wrong-address.json"), JSON.stringify([{ privateKeyHex: fileHex, address: addresses.default }]));
    expect(() => loadWalletKeyring(env({ SHELL_EXEC_WALLET_KEYS: join(root, "wrong-address.json") }))).toThrow(/is wallet akash1\S+, not the/);
    writeSecret(join(root, "two-keys.json"), JSON.stringify([{ privateKeyHex: fileHex, mnemonic: fileMnemonic }]));
    const twoKeys = (() => {
      try {
        loadWalletKeyring(env({ SHELL_EXEC_WALLET_KEYS: join(root, "two-keys.json") }));
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(twoKeys?.message).toMatch(/exactly one of mnemonic/);
    expect(twoKeys?.message).not.toContain(fileHex);
  });

  it("refuses mTLS pairs that do not fit: CN of another wallet, key of another certificate, half a pair, no such wallet", () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      ["foreign CN", (dir) => {
        const pair = selfSignedPair(dir, "f", addresses.default);
        writeFileSync(join(dir, `${addresses.dirHex}.crt`), pair.certPem);
        writeSecret(join(dir, `${addresses.dirHex}.key`), pair.keyPem);
      }, /CN is akash1/],
      ["mismatched key", (dir) => {
        writeFileSync(join(dir, `${addresses.dirHex}.crt`), dirHexTls.certPem);
        writeSecret(join(dir, `${addresses.dirHex}.key`), selfSignedPair(dir, "m", addresses.dirHex).keyPem);
      }, /does not belong to the certificate/],
      ["cert only", (dir) => writeFileSync(join(dir, `${addresses.dirHex}.crt`), dirHexTls.certPem), /no matching/],
      ["no such wallet", (dir) => {
        const pair = selfSignedPair(dir, "n", addresses.fileMnemonic);
        writeFileSync(join(dir, `${addresses.fileMnemonic}.crt`), pair.certPem);
        writeSecret(join(dir, `${addresses.fileMnemonic}.key`), pair.keyPem);
      }, /no wallet akash1\S+ in the keyring/],
    ];
    for (const [name, arrange, expected] of cases) {
      const dir = mkdtempSync(join(root, "tls-"));
      writeSecret(join(dir, "w.key"), dirHex);
      arrange(dir);
      expect(() => loadWalletKeyring(env({ SHELL_EXEC_WALLET_KEYS_DIR: dir })), name).toThrow(expected);
    }
  });

  it("warns, by path only, about key files others may read", () => {
    const loose = join(root, "loose");
    mkdirSync(loose);
    writeFileSync(join(loose, "x.key"), dirHex);
    chmodSync(join(loose, "x.key"), 0o644);
    const { logger, lines } = capturingLogger();
    loadWalletKeyring(env({ SHELL_EXEC_WALLET_KEYS_DIR: loose }), { logger });
    const warning = lines.map((line) => JSON.parse(line) as { msg: string; path?: string; mode?: string }).find((l) => l.msg.includes("readable"));
    expect(warning).toMatchObject({ path: join(loose, "x.key"), mode: "644" });
    expect(lines.join("")).not.toContain(dirHex);
  });
});
