/**
 * bech32 checksum verification (BIP-173), enough to tell a well-formed `akash1…` address from a malformed one as the
 * chain's address codec does. Written out here because akash-sim does not depend on @scure/base directly.
 */
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) checksum ^= GENERATORS[i]!;
  }
  return checksum >>> 0;
}

/** The human-readable prefix of a valid bech32 string, or null. */
export function bech32Prefix(text: string): string | null {
  if (text.length > 90 || text !== text.toLowerCase()) return null;
  const separator = text.lastIndexOf("1");
  if (separator < 1 || separator + 7 > text.length) return null;
  const prefix = text.slice(0, separator);
  const data: number[] = [];
  for (const char of text.slice(separator + 1)) {
    const value = CHARSET.indexOf(char);
    if (value < 0) return null;
    data.push(value);
  }
  const expanded = [...prefix].map((c) => c.charCodeAt(0) >> 5).concat([0], [...prefix].map((c) => c.charCodeAt(0) & 31));
  return polymod(expanded.concat(data)) === 1 ? prefix : null;
}

export function isAkashAddress(address: string): boolean {
  return bech32Prefix(address) === "akash" && address.length === 44;
}
