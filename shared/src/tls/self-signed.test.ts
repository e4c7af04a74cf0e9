import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { connect, createServer, type TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { createClientCertificate, createSelfSignedCertificate, createServerCertificate } from "./self-signed.ts";

const ADDRESS = "akash1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu";

describe("self-signed certificates", () => {
  it("makes a server certificate: P-256, CN = address, SANs, server+client auth, issuer = subject", () => {
    const made = createServerCertificate({ commonName: ADDRESS });
    const x509 = new X509Certificate(made.certPem);
    expect(x509.subject).toBe(`CN=${ADDRESS}\n2.23.133.2.6=v0.0.1`);
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(x509.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"]);
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(x509.ca).toBe(false);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(BigInt(`0x${x509.serialNumber}`).toString()).toBe(made.serial);
    expect(x509.fingerprint256).toBe(made.fingerprint256);
  });

  it("makes a client certificate with clientAuth only and no SANs; serials never repeat", () => {
    const a = createClientCertificate({ address: ADDRESS });
    const b = createClientCertificate({ address: ADDRESS });
    const x509 = new X509Certificate(a.certPem);
    expect(x509.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(x509.subjectAltName).toBeUndefined();
    expect(a.serial).not.toBe(b.serial);
  });

  it("honours a validity window, including dates past 2049 (GeneralizedTime)", () => {
    const made = createSelfSignedCertificate({
      commonName: "x",
      extKeyUsage: ["clientAuth"],
      notBefore: new Date("2049-12-31T00:00:00Z"),
      notAfter: new Date("2051-01-01T00:00:00Z"),
      akashAuthVersion: false,
    });
    const x509 = new X509Certificate(made.certPem);
    expect(x509.subject).toBe("CN=x");
    expect(new Date(x509.validTo).toISOString()).toBe("2051-01-01T00:00:00.000Z");
  });

  it("works for TLS: a client pins the server certificate with `ca`, the server reads the client certificate", async () => {
    const serverCert = createServerCertificate({ commonName: ADDRESS });
    const clientCert = createClientCertificate({ address: ADDRESS });
    const server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.3" });
    const seen = new Promise<string | undefined>((resolve) => {
      server.on("secureConnection", (socket: TLSSocket) => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256);
        socket.end("ok");
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const socket = connect({
        host: "127.0.0.1",
        port: (server.address() as AddressInfo).port,
        ca: serverCert.certPem,
        cert: clientCert.certPem,
        key: clientCert.keyPem,
      });
      await once(socket, "secureConnect");
      expect(socket.authorized).toBe(true);
      expect(await seen).toBe(clientCert.fingerprint256);
      socket.destroy();
    } finally {
      server.close();
      await once(server, "close");
    }
  });
});
