/**
 * Per-run credentials for mutual TLS: a fresh CA, a coordinator (server) certificate and a worker
 * (client) certificate, all ECDSA P-256 (RSA handshakes cost 2-3x more CPU at thousands of
 * connections). Generated in memory for each run; `xc-orch genkeys` writes the same set to disk.
 *
 * Workers verify the coordinator against the run's CA *and* the name {@link COORDINATOR_NAME},
 * which only the server certificate carries, so a leaked worker certificate cannot impersonate
 * the coordinator. The coordinator admits only clients whose certificate the same CA issued.
 */
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { COORDINATOR_NAME, WORKER_NAME } from '../../protocol/tlsNames.js';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

// @peculiar/x509 is typed against the DOM Crypto; Node's webcrypto implements the same API.
x509.cryptoProvider.set(webcrypto as never);

export { COORDINATOR_NAME, WORKER_NAME };

export interface RunCredentials {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  workerCert: string;
  workerKey: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Generate a CA and the two leaf certificates it signs. Valid from one hour ago (clock skew on
 * workers) for `validDays` days.
 *
 * @example const creds = await generateCredentials(); tls.createServer({ key: creds.serverKey, ... })
 */
export async function generateCredentials(validDays = 7): Promise<RunCredentials> {
  const notBefore = new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(Date.now() + validDays * DAY_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=xc-orch run CA ${randomSerial().slice(0, 8)}`,
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leaf = async (commonName: string, usage: x509.ExtendedKeyUsage, names: x509.JsonGeneralNames) => {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${commonName}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage], false),
        new x509.SubjectAlternativeNameExtension(names, false),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      ],
    });
    return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
  };

  const server = await leaf(COORDINATOR_NAME, x509.ExtendedKeyUsage.serverAuth, [{ type: 'dns', value: COORDINATOR_NAME }]);
  const worker = await leaf(WORKER_NAME, x509.ExtendedKeyUsage.clientAuth, [{ type: 'dns', value: WORKER_NAME }]);
  return {
    caCert: ca.toString('pem'),
    caKey: await exportKey(caKeys.privateKey),
    serverCert: server.cert,
    serverKey: server.key,
    workerCert: worker.cert,
    workerKey: worker.key,
  };
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

function randomSerial(): string {
  // Positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
