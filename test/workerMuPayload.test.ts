/**
 * mu's coordinators drive our worker (issue 14): mu's payload (bare base64 PEM bodies, RSA keys,
 * srvcrt/srvkey as the worker's pair, no srvname) is accepted, the coordinator is pinned to exactly
 * srvcrt, vars/args lists are joined as mu did, and ./TOOL finds the function's executables.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseEvent } from '../worker/parseEvent.js';
import { runWorker, type WorkerOptions } from '../worker/worker.js';
import { startPeerServer } from './support/peerServer.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';

x509.cryptoProvider.set(webcrypto as never);

/** mu's credentials: an RSA CA and RSA server certificates, as PEM and as mu's read_pem bodies. */
interface MuCert {
  pem: string;
  keyPem: string;
  /** The base64 body of the certificate's PEM block, on one line (mu's read_pem). */
  body: string;
  /** The same for the key, PKCS#1 (`RSA PRIVATE KEY`), as mu's genkeys wrote it. */
  keyBody: string;
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) } as const;

async function rsaKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function muCert(cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<MuCert> {
  const key = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' });
  return {
    pem: cert.toString('pem'),
    keyPem: key.export({ type: 'pkcs1', format: 'pem' }).toString(),
    body: Buffer.from(cert.rawData).toString('base64'),
    keyBody: key.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
  };
}

async function muCredentials(): Promise<{ ca: MuCert; server: MuCert; other: MuCert }> {
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const caKeys = await rsaKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=mu test CA',
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: RSA,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  // mu used one certificate for the coordinator and every worker: no extended key usage.
  const leaf = async (name: string, serial: string) => {
    const keys = await rsaKeys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${name}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: RSA,
    });
    return muCert(cert, keys);
  };
  const [server, other] = await Promise.all([leaf('mu-server', '02'), leaf('mu-impostor', '03')]);
  return { ca: await muCert(ca, caKeys), server, other };
}

const tempDir = useTempDirs();
let mu: Awaited<ReturnType<typeof muCredentials>>;
let root: string;
let coordinator: ScriptedCoordinator | undefined;

beforeAll(async () => {
  mu = await muCredentials();
});

beforeEach(async () => {
  root = await tempDir('xc-test-mu-');
});

afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
});

function muEvent(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mode: 1, addr: '127.0.0.1', port, cacert: mu.ca.body, srvcrt: mu.server.body, srvkey: mu.server.keyBody, nonblock: 0, ...extra };
}

async function startMuWorker(presenting: MuCert, options: WorkerOptions = {}, extra: Record<string, unknown> = {}) {
  coordinator = await startScriptedCoordinator({ credentials: { caCert: mu.ca.pem, serverCert: presenting.pem, serverKey: presenting.keyPem } });
  const exit = runWorker(parseEvent(muEvent(coordinator.port, extra)), { tmpRoot: root, connectTimeoutMs: 10_000, ...options });
  return { exit, coordinator };
}

describe("parseEvent with mu's payload", () => {
  it('turns the bare bodies into PEM credentials, srvcrt pinned and the tools linked', () => {
    const event = parseEvent(muEvent(13579));
    expect(event.cacert).toContain('-----BEGIN CERTIFICATE-----');
    expect(event.wrkcert).toBe(event.pinned_cert);
    expect(event.pinned_cert!.replace(/\s/g, '')).toContain(mu.server.body);
    expect(event.wrkkey).toContain('-----BEGIN PRIVATE KEY-----');
    expect(event.link_tools).toBe(1);
    expect(event.srvname).toBeUndefined();
  });

  it('takes PEM text in the same fields, and a space-separated srvcrt chain', () => {
    const event = parseEvent(muEvent(1, { cacert: mu.ca.pem, srvcrt: `${mu.server.body} ${mu.ca.body}`, srvkey: mu.server.keyPem }));
    expect(event.wrkcert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(event.pinned_cert!.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  it('joins vars/args lists as mu did and reads "0" as off', () => {
    const event = parseEvent(muEvent(1, { vars: ['A=1', 'B=2'], args: ['-q', '30'], expect_statefile: '0', send_statefile: '1', minimal_recode: 0 }));
    expect(event).toMatchObject({ vars: 'A=1 B=2', args: '-q 30', expect_statefile: 0, send_statefile: 1, minimal_recode: 0 });
    expect(() => parseEvent(muEvent(1, { args: ['-q', 30] }))).toThrow(/args must be a string or a list of strings/);
  });

  it('names the bad field, never its contents', () => {
    let message = '';
    try {
      parseEvent(muEvent(1, { cacert: 'not*base64', srvkey: mu.other.keyBody.slice(0, 200) }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/cacert must be base64 certificate bodies/);
    expect(message).toMatch(/srvkey must be a base64 private key body/);
    expect(message).not.toContain(mu.other.keyBody.slice(0, 40));
    expect(() => parseEvent(muEvent(1, { srvkey: mu.other.keyBody }))).toThrow(/srvkey is not the key of the first srvcrt certificate/);
    expect(() => parseEvent(muEvent(1, { cacert: undefined }))).toThrow(/cacert is required in mode 1/);
  });
});

describe("a worker started with mu's payload", () => {
  it('presents srvcrt, accepts a coordinator presenting exactly srvcrt, and keeps the key out of get:/dump_vals:', async () => {
    const { exit } = await startMuWorker(mu.server);
    const session = await coordinator!.nextSession();
    expect(await session.next()).toBe('OK:HELLO');
    expect(session.peerName).toBe('mu-server');
    const [dump, get] = await session.play([{ send: 'dump_vals:' }, { send: 'get:srvkey', expect: 'FAIL' }]);
    expect(dump).not.toMatch(/PRIVATE KEY|srvkey|srvcrt|cacert/);
    expect(dump).not.toContain(mu.server.keyBody.slice(0, 40));
    expect(get).toBe('FAIL(no such variable srvkey)');
    session.send('quit:');
    expect((await exit).reason).toBe('quit');
  });

  it('refuses a coordinator presenting another certificate, even one from the same CA', async () => {
    const { exit } = await startMuWorker(mu.other);
    const result = await exit;
    expect(result.reason).toBe('connect');
    expect(result.detail).toMatch(/pinned srvcrt/);
    expect(coordinator!.sessions.every((session) => session.frames.length === 0)).toBe(true);
  });

  it('pins peer links to srvcrt too', async () => {
    const good = await startPeerServer({ caCert: mu.ca.pem, serverCert: mu.server.pem, serverKey: mu.server.keyPem });
    const bad = await startPeerServer({ caCert: mu.ca.pem, serverCert: mu.other.pem, serverKey: mu.other.keyPem });
    try {
      const { exit } = await startMuWorker(mu.server);
      const session = await coordinator!.nextSession();
      await session.next();
      const [ok, refused] = await session.play([
        { send: `connect:127.0.0.1:${good.port}:HELLO_STATE:r:0:1` },
        { send: `connect:127.0.0.1:${bad.port}:x`, expect: 'FAIL' },
      ]);
      expect(ok).toBe(`OK:CONNECT(127.0.0.1:${good.port}:HELLO_STATE:r:0:1)`);
      expect(refused).toBe('FAIL(already connected)');
      const [, refusedAfterClose] = await session.play([{ send: 'close_connect:' }, { send: `connect:127.0.0.1:${bad.port}:x`, expect: 'FAIL' }]);
      expect(refusedAfterClose).toMatch(/^FAIL\(connect to 127\.0\.0\.1:\d+: .*pinned srvcrt.*\)$/);
      session.send('quit:');
      await exit;
    } finally {
      await Promise.all([good.close(), bad.close()]);
    }
  });

  it("finds the function's executables as ./NAME in its temp dir, as mu's worker did", async () => {
    const bin = join(root, 'function-bin');
    await mkdir(bin);
    await writeFile(join(bin, 'xc-enc'), '#!/bin/sh\necho "xc-enc $*"\n');
    await chmod(join(bin, 'xc-enc'), 0o755);
    const { exit } = await startMuWorker(mu.server, { binDir: bin });
    const session = await coordinator!.nextSession();
    await session.next();
    const [ran] = await session.play([{ send: 'run:./xc-enc -i y4m', expect: 'OK:RETVAL(0)' }]);
    expect(ran).toBe('OK:RETVAL(0):OUTPUT(xc-enc -i y4m\n):COMMAND(./xc-enc -i y4m)');
    session.send('quit:');
    await exit;
  });
});
