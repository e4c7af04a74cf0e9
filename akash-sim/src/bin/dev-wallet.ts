/**
 * A development wallet for akash-sim seeds: prints one JSON line {"address","publicKey","mnemonic"} for a fresh
 * 24-word mnemonic (or for the mnemonic in --mnemonic-file), derived on m/44'/118'/0'/0/0 as Akash wallets are.
 *
 *   node akash-sim/src/bin/dev-wallet.ts [--mnemonic-file FILE] [--write FILE]
 *
 * --write FILE stores the fresh mnemonic in FILE (mode 0600) and leaves it out of the output. Never use a dev wallet
 * for real funds: its mnemonic has been on a terminal.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";

const { values } = parseArgs({
  options: { "mnemonic-file": { type: "string" }, write: { type: "string" } },
  strict: true,
});
const mnemonic = values["mnemonic-file"] ? readFileSync(values["mnemonic-file"], "utf8").trim() : AkashWallet.generateMnemonic();
const wallet = AkashWallet.fromMnemonic(mnemonic);
if (values.write) writeFileSync(values.write, `${mnemonic}\n`, { mode: 0o600, flag: "wx" });
const shown = values.write || values["mnemonic-file"] ? {} : { mnemonic };
console.log(JSON.stringify({ address: wallet.address, publicKey: wallet.publicKeyHex, ...shown }));
