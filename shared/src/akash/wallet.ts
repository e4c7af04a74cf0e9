import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { HDKey } from "@scure/bip32";
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { bech32 } from "@scure/base";

/** The Cosmos derivation path Akash wallets use (coin type 118). */
export const AKASH_HD_PATH = "m/44'/118'/0'/0/0";
export const AKASH_ADDRESS_PATTERN = /^akash1[a-z0-9]{38}$/;

/** bech32("akash", ripemd160(sha256(compressed 33-byte public key))). */
export function akashAddressFromPublicKey(publicKey: Uint8Array, prefix = "akash"): string {
  if (publicKey.length !== 33) throw new Error("expected a 33-byte compressed secp256k1 public key");
  return bech32.encode(prefix, bech32.toWords(ripemd160(sha256(publicKey))));
}

/**
 * A wallet's signing key. The private key lives in a private field, and the object serialises and inspects as its
 * address only, so a wallet that ends up in a log line or an error carries no secret.
 */
export class AkashWallet {
  readonly address: string;
  readonly publicKey: Uint8Array;
  readonly #privateKey: Uint8Array;

  private constructor(privateKey: Uint8Array) {
    if (!secp256k1.utils.isValidSecretKey(privateKey)) throw new Error("not a valid secp256k1 private key");
    this.#privateKey = privateKey;
    this.publicKey = secp256k1.getPublicKey(privateKey, true);
    this.address = akashAddressFromPublicKey(this.publicKey);
  }

  static fromMnemonic(mnemonic: string, path = AKASH_HD_PATH): AkashWallet {
    const normalized = mnemonic.trim().split(/\s+/).join(" ");
    if (!validateMnemonic(normalized, wordlist)) throw new Error("not a valid BIP39 mnemonic (English word list)");
    const key = HDKey.fromMasterSeed(mnemonicToSeedSync(normalized)).derive(path);
    if (!key.privateKey) throw new Error(`no private key at ${path}`);
    return new AkashWallet(key.privateKey);
  }

  static fromPrivateKeyHex(hex: string): AkashWallet {
    const clean = hex.trim().replace(/^0x/, "");
    if (!/^[0-9a-fA-F]{64}$/.test(clean)) throw new Error("a private key is 64 hex characters");
    return new AkashWallet(hexToBytes(clean));
  }

  static generateMnemonic(): string {
    return generateMnemonic(wordlist, 256);
  }

  /** ECDSA over sha256(message), deterministic (RFC 6979), 64-byte r‖s with s in the low half (Cosmos rejects high-S). */
  sign(message: Uint8Array): Uint8Array {
    return secp256k1.sign(message, this.#privateKey, { prehash: true, lowS: true, format: "compact" });
  }

  get publicKeyHex(): string {
    return bytesToHex(this.publicKey);
  }

  toJSON(): { address: string } {
    return { address: this.address };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `AkashWallet(${this.address})`;
  }
}

/** Cosmos `PubKey.VerifySignature`: sha256 prehash, 64-byte compact signature, high-S rejected. */
export function verifySecp256k1(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return secp256k1.verify(signature, message, publicKey, { prehash: true, lowS: true, format: "compact" });
  } catch {
    return false;
  }
}
