import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { run as genkeys } from '../cli/genkeys.js';
import { COORDINATOR_NAME, generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { loadCredentials, type CredentialOptions } from '../runtime/tls/credentials.js';
import { ConfigError } from '../common/errors.js';
import { createWorkerServer, type WorkerConnection } from '../runtime/coordinator/workerServer.js';
import { captureOutput } from './support/captureOutput.js';
import { expectRejection } from './support/expectRejection.js';
import { useTempDirs } from './support/tempDirs.js';
import { connectTlsClient } from './support/tlsClient.js';
import { WAIT } from './support/wait.js';

const tempDir = useTempDirs('file');
let root: string;
let keys: string;
let other: RunCredentials;
let counter = 0;

beforeAll(async () => {
  root = await tempDir('xc-creds-');
  keys = join(root, 'keys');
  const made = await captureOutput(() => genkeys([keys]));
  expect(made.code, made.stderr).toBe(0);
  other = await generateCredentials();
  FLAGS = { caCert: at('ca_cert.pem'), serverCert: at('server_cert.pem'), serverKey: at('server_key.pem') };
});

const at = (name: string) => join(keys, name);
/** -c -s -k pointing at the genkeys folder. */
let FLAGS: CredentialOptions;

/** Write `text` to a fresh file and return its path. */
async function scratch(text: string, name = 'file.pem'): Promise<string> {
  const dir = join(root, `scratch-${counter++}`);
  await mkdir(dir);
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Expect a ConfigError whose message matches and carries no PEM material. */
async function expectConfigError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await expectRejection(promise, ConfigError, message);
  expect(error.message).not.toMatch(/-----BEGIN|PRIVATE KEY|MII/);
}

describe('loadCredentials', () => {
  it('generates a fresh set in memory when nothing is given', async () => {
    const creds = await loadCredentials({}, {});
    expect(creds.source).toBe('generated');
    expect(creds.serverName).toBe(COORDINATOR_NAME);
    expect(creds).not.toHaveProperty('caKey');
    expect(creds.workerKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('round-trips genkeys files into a working mutual-TLS server', async () => {
    const creds = await loadCredentials(FLAGS, {});
    expect(creds.source).toBe('files');
    expect(creds.serverName).toBe(COORDINATOR_NAME);
    expect(creds.caCert).toBe(await readFile(at('ca_cert.pem'), 'utf8'));
    expect(creds.workerKey).toBe(await readFile(at('worker_key.pem'), 'utf8'));
    const admitted: WorkerConnection[] = [];
    const server = await createWorkerServer({ host: '127.0.0.1', port: 0, credentials: creds, onHello: (c) => admitted.push(c) });
    try {
      const client = await connectTlsClient({
        port: server.address().port,
        ca: creds.caCert,
        cert: creds.workerCert,
        key: creds.workerKey,
        servername: creds.serverName,
      });
      client.send('OK:HELLO:4');
      await vi.waitFor(() => expect(admitted.map((c) => c.invocation)).toEqual([4]), WAIT);
      client.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('reads PEM bodies from CA_CERT, SRV_CERT, SRV_KEY, WRK_CERT, WRK_KEY', async () => {
    const env = {
      CA_CERT: await readFile(at('ca_cert.pem'), 'utf8'),
      SRV_CERT: await readFile(at('server_cert.pem'), 'utf8'),
      SRV_KEY: await readFile(at('server_key.pem'), 'utf8'),
      // As CI secrets often arrive: one line with literal \n.
      WRK_CERT: (await readFile(at('worker_cert.pem'), 'utf8')).replace(/\n/g, '\\n'),
      WRK_KEY: await readFile(at('worker_key.pem'), 'utf8'),
    };
    const creds = await loadCredentials({}, env);
    expect(creds.source).toBe('files');
    expect(creds.workerCert).toBe(await readFile(at('worker_cert.pem'), 'utf8'));
  });

  it('reads file paths from the env too, finding the worker pair beside the server certificate', async () => {
    const creds = await loadCredentials({}, { CA_CERT: FLAGS.caCert, SRV_CERT: FLAGS.serverCert, SRV_KEY: FLAGS.serverKey });
    expect(creds.workerCert).toBe(await readFile(at('worker_cert.pem'), 'utf8'));
  });

  it('prefers flags over the env', async () => {
    const creds = await loadCredentials(FLAGS, { CA_CERT: '/nonexistent/ca.pem' });
    expect(creds.source).toBe('files');
  });

  it('asks for all three of -c, -s, -k', async () => {
    await expectConfigError(loadCredentials({ caCert: FLAGS.caCert }, {}), /incomplete: missing -s \(server certificate, env SRV_CERT\) and -k \(server key, env SRV_KEY\)/);
  });

  it('names a missing file', async () => {
    await expectConfigError(loadCredentials({ ...FLAGS, serverKey: join(root, 'nope.pem') }, {}), /cannot read server key '.*nope\.pem' \(-k\): no such file/);
  });

  it('names a folder given as a file', async () => {
    await expectConfigError(loadCredentials({ ...FLAGS, caCert: root }, {}), /cannot read CA certificate '.*' \(-c\): it is a directory/);
  });

  it('says when the worker pair is not beside the server certificate, naming the certificate every time', async () => {
    const serverCert = await scratch(await readFile(at('server_cert.pem'), 'utf8'), 'server_cert.pem');
    // Regression: both files are missing, and the failure reported was whichever read failed first
    // in time, so about 1 run in 50 (more under load) named the worker key instead.
    for (let attempt = 0; attempt < 300; attempt++) {
      await expectConfigError(loadCredentials({ ...FLAGS, serverCert }, {}), /cannot read worker certificate '.*worker_cert\.pem' \(beside the server certificate\): no such file/);
    }
  });

  it('asks for WRK_CERT/WRK_KEY when the server certificate came as a PEM body', async () => {
    const env = { CA_CERT: FLAGS.caCert, SRV_CERT: await readFile(at('server_cert.pem'), 'utf8'), SRV_KEY: FLAGS.serverKey };
    await expectConfigError(loadCredentials({}, env), /no worker certificate: set env WRK_CERT/);
  });

  it('rejects a garbled certificate', async () => {
    await expectConfigError(loadCredentials({ ...FLAGS, caCert: await scratch('hello, I am not a certificate') }, {}), /CA certificate '.*' \(-c\) is not a PEM certificate$/);
    const broken = '-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAAAA==\n-----END CERTIFICATE-----\n';
    await expectConfigError(loadCredentials({ ...FLAGS, caCert: await scratch(broken) }, {}), /is not a valid PEM certificate$/);
  });

  it('rejects a garbled or encrypted key without quoting it', async () => {
    const garbled = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
    await expectConfigError(loadCredentials({ ...FLAGS, serverKey: await scratch(garbled) }, {}), /server key '.*' \(-k\) is not a valid PEM private key$/);
    await expectConfigError(loadCredentials({ ...FLAGS, serverKey: await scratch('just text') }, {}), /is not a PEM private key$/);
    const encrypted = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3\n-----END ENCRYPTED PRIVATE KEY-----\n';
    await expectConfigError(loadCredentials({ ...FLAGS, serverKey: await scratch(encrypted) }, {}), /is encrypted; give an unencrypted key$/);
  });

  it('rejects a key that does not match its certificate', async () => {
    await expectConfigError(loadCredentials({ ...FLAGS, serverKey: at('worker_key.pem') }, {}), /server key '.*worker_key\.pem' \(-k\) does not match server certificate/);
  });

  it('rejects a server certificate from another CA', async () => {
    const serverCert = await scratch(other.serverCert);
    const serverKey = await scratch(other.serverKey);
    await expectConfigError(
      loadCredentials({ ...FLAGS, serverCert, serverKey, workerCert: at('worker_cert.pem'), workerKey: at('worker_key.pem') }, {}),
      /server certificate '.*' \(-s\) was not issued by CA certificate/,
    );
  });

  it('rejects a worker certificate from another CA', async () => {
    const env = { WRK_CERT: other.workerCert, WRK_KEY: other.workerKey };
    await expectConfigError(loadCredentials(FLAGS, env), /worker certificate \(env WRK_CERT\) was not issued by CA certificate/);
  });

  it('rejects a leaf certificate given as the CA', async () => {
    await expectConfigError(loadCredentials({ ...FLAGS, caCert: FLAGS.serverCert }, {}), /is not a CA certificate/);
  });

  it('rejects the worker certificate used as the server certificate', async () => {
    await expectConfigError(
      loadCredentials({ ...FLAGS, serverCert: at('worker_cert.pem'), serverKey: at('worker_key.pem') }, {}),
      /server certificate '.*worker_cert\.pem' \(-s\) is not issued for serverAuth/,
    );
  });
});
