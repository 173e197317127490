import { TlsStandIn, TLS_TYPES } from "./tlsStandIn";
(async () => {
  const s = new TlsStandIn();
  const caKey = await s.newResource({ type: TLS_TYPES.privateKey, name: "ca", inputs: { algorithm: "ECDSA", ecdsaCurve: "P256" } });
  const ca = await s.newResource({ type: TLS_TYPES.selfSignedCert, name: "ca", inputs: { privateKeyPem: caKey.state.privateKeyPem, isCaCertificate: true, validityPeriodHours: 87600, allowedUses: ["cert_signing"], subject: { commonName: "ca" } } });
  const n = 1000; const t = { k: 0n, c: 0n, l: 0n };
  for (let i = 0; i < n; i++) {
    let t0 = process.hrtime.bigint();
    const k = await s.newResource({ type: TLS_TYPES.privateKey, name: "k", inputs: { algorithm: "ECDSA", ecdsaCurve: "P256" } });
    let t1 = process.hrtime.bigint(); t.k += t1 - t0;
    const c = await s.newResource({ type: TLS_TYPES.certRequest, name: "c", inputs: { privateKeyPem: k.state.privateKeyPem, subject: { commonName: "n" }, dnsNames: ["n"] } });
    let t2 = process.hrtime.bigint(); t.c += t2 - t1;
    await s.newResource({ type: TLS_TYPES.locallySignedCert, name: "l", inputs: { certRequestPem: c.state.certRequestPem, caCertPem: ca.state.certPem, caPrivateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 8760, allowedUses: ["client_auth"] } });
    t.l += process.hrtime.bigint() - t2;
  }
  console.log("key", Number(t.k) / 1e6 / n, "csr", Number(t.c) / 1e6 / n, "lsc", Number(t.l) / 1e6 / n);
})();
