import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface ChainSdkJwtVectors {
  source: string;
  mnemonic: string;
  cases: { description: string; tokenString: string; mustFail: boolean }[];
}

const REPO_ROOT = join(import.meta.dirname, "..");

/**
 * chain-sdk's testdata/jwt (a mnemonic and cases_es256k.json) is the byte-exact reference for ES256K tokens. It is
 * not copied into this repository: it is read from `CHAIN_SDK_TESTDATA` (a folder holding `mnemonic` and
 * `cases_es256k.json`), from the team's shared folder beside the repository, or from a local git snapshot of
 * chain-sdk; null when none is present.
 */
export function loadChainSdkJwtVectors(): ChainSdkJwtVectors | null {
  const folders = [
    process.env.CHAIN_SDK_TESTDATA,
    join(REPO_ROOT, "..", "shared", "testdata", "chain-sdk", "jwt"),
  ].filter((folder): folder is string => Boolean(folder));
  for (const folder of folders) {
    const mnemonicFile = join(folder, "mnemonic");
    const casesFile = join(folder, "cases_es256k.json");
    if (existsSync(mnemonicFile) && existsSync(casesFile)) {
      return parse(folder, readFileSync(mnemonicFile, "utf8"), readFileSync(casesFile, "utf8"));
    }
  }
  const snapshots = [
    process.env.CHAIN_SDK_GIT_DIR,
    join(REPO_ROOT, "..", ".mirror", "akash-network+chain-sdk", "repo"),
    "/work/.mirror/akash-network+chain-sdk/repo",
  ].filter((dir): dir is string => Boolean(dir) && existsSync(dir!));
  for (const gitDir of snapshots) {
    try {
      const show = (path: string) => execFileSync("git", ["--git-dir", gitDir, "show", `HEAD:${path}`], { encoding: "utf8" });
      return parse(gitDir, show("testdata/jwt/mnemonic"), show("testdata/jwt/cases_es256k.json"));
    } catch {
      // Not a usable snapshot: try the next place.
    }
  }
  return null;
}

function parse(source: string, mnemonic: string, cases: string): ChainSdkJwtVectors {
  return { source, mnemonic: mnemonic.trim(), cases: JSON.parse(cases) as ChainSdkJwtVectors["cases"] };
}
