import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_NAME, generateCredentials } from '../runtime/tls/certs.js';

describe('generateCredentials', () => {
  it('issues ECDSA P-256 server and worker certificates signed by a fresh CA', async () => {
    const creds = await generateCredentials();
    const ca = new X509Certificate(creds.caCert);
    const server = new X509Certificate(creds.serverCert);
    const worker = new X509Certificate(creds.workerCert);
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(worker.verify(ca.publicKey)).toBe(true);
    expect(server.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(server.checkHost(COORDINATOR_NAME)).toBe(COORDINATOR_NAME);
    expect(worker.checkHost(COORDINATOR_NAME)).toBeUndefined();
    expect(creds.serverKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('makes a different CA every run', async () => {
    const [a, b] = await Promise.all([generateCredentials(), generateCredentials()]);
    const caA = new X509Certificate(a.caCert);
    expect(new X509Certificate(b.serverCert).verify(caA.publicKey)).toBe(false);
  });
});
