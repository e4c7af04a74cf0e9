import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PEM certificate and its private key. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface TestCertificates {
  /** A private CA that tests add to Node's default trust store. */
  ca: KeyPair;
  /** Issued by `ca` for localhost and 127.0.0.1. */
  caIssuedLocalhost: KeyPair;
  /** Issued by `ca` for another name only. */
  caIssuedOtherHost: KeyPair;
  /** Self-signed with an Akash-style CN and no SAN, as providers publish on chain. */
  providerSelfSigned: KeyPair;
  /** Another self-signed certificate: what an impostor would present. */
  impostorSelfSigned: KeyPair;
  /** A client certificate for mTLS. */
  client: KeyPair;
}

/**
 * Real X.509 certificates made with the openssl CLI (Node can parse certificates but not issue them). EC P-256,
 * valid for two days.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "provider-tls-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  const selfSigned = (name: string, subject: string, extensions: string[] = []): KeyPair => {
    openssl(
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject,
      ...extensions.flatMap((extension) => ["-addext", extension]),
    );
    return { certPem: read(`${name}.pem`), keyPem: read(`${name}.key`) };
  };
  const issued = (name: string, subject: string, subjectAltName: string): KeyPair => {
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    return { certPem: read(`${name}.pem`), keyPem: read(`${name}.key`) };
  };
  try {
    const ca = selfSigned("ca", "/CN=shell-exec test CA", ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]);
    return {
      ca,
      caIssuedLocalhost: issued("localhost", "/CN=localhost", "DNS:localhost,IP:127.0.0.1"),
      caIssuedOtherHost: issued("other", "/CN=other.example", "DNS:other.example"),
      providerSelfSigned: selfSigned("provider", "/CN=akash1provider0000000000000000000000000000"),
      impostorSelfSigned: selfSigned("impostor", "/CN=akash1provider0000000000000000000000000000"),
      client: selfSigned("client", "/CN=akash1owner000000000000000000000000000000"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
