/**
 * Compile the user's TLS choice into the PEM texts a run needs. With no `-c/-s/-k` (and no env
 * `CA_CERT`, `SRV_CERT`, `SRV_KEY`) a fresh set is generated in memory and never written. Otherwise
 * the user's files are loaded and checked against each other, so that a mismatch is one clear
 * ConfigError at start-up instead of every worker failing its handshake.
 *
 * Flags name files. Env variables hold either a PEM body (mu's habit) or a file path: a value
 * starting with `-----BEGIN` is PEM, anything else a path. The worker's own certificate and key
 * come from `workerCert`/`workerKey`, env `WRK_CERT`/`WRK_KEY`, or else `worker_cert.pem` and
 * `worker_key.pem` beside the server certificate (as `xc-orch genkeys` writes them).
 * No message here ever contains key or certificate material.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { COORDINATOR_NAME, generateCredentials } from './certs.js';
import { ConfigError } from '../../common/errors.js';

/** File names `xc-orch genkeys` writes, and where a run looks for the worker's pair. */
export const CREDENTIAL_FILES = {
  caCert: 'ca_cert.pem',
  caKey: 'ca_key.pem',
  serverCert: 'server_cert.pem',
  serverKey: 'server_key.pem',
  workerCert: 'worker_cert.pem',
  workerKey: 'worker_key.pem',
} as const;

/** Env variables read when the matching option is absent. */
export const CREDENTIAL_ENV = {
  caCert: 'CA_CERT',
  serverCert: 'SRV_CERT',
  serverKey: 'SRV_KEY',
  workerCert: 'WRK_CERT',
  workerKey: 'WRK_KEY',
} as const;

export interface CredentialOptions {
  /** `-c`: CA certificate file. */
  caCert?: string;
  /** `-s`: coordinator (server) certificate file. */
  serverCert?: string;
  /** `-k`: coordinator (server) private key file. */
  serverKey?: string;
  /** Worker certificate file; default `worker_cert.pem` beside the server certificate. */
  workerCert?: string;
  /** Worker private key file; default `worker_key.pem` beside the server certificate. */
  workerKey?: string;
}

/** Everything a run needs for mutual TLS, as PEM texts. The CA's key is never part of it. */
export interface LoadedCredentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
  workerCert: string;
  workerKey: string;
  /** The name workers check on the coordinator's certificate (the event's `srvname`). */
  serverName: string;
  source: 'generated' | 'files';
}

type Role = keyof typeof CREDENTIAL_ENV;

const LABEL: Record<Role, string> = {
  caCert: 'CA certificate',
  serverCert: 'server certificate',
  serverKey: 'server key',
  workerCert: 'worker certificate',
  workerKey: 'worker key',
};
const FLAG: Partial<Record<Role, string>> = { caCert: '-c', serverCert: '-s', serverKey: '-k' };
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Where one PEM text comes from: a file (with the option that named it) or an env variable's body. */
type Source = { kind: 'file'; path: string; via: string } | { kind: 'env'; name: string; pem: string };

/**
 * @example
 * const creds = await loadCredentials();                      // fresh, in memory
 * const mine = await loadCredentials({ caCert: 'keys/ca_cert.pem', serverCert: 'keys/server_cert.pem',
 *                                      serverKey: 'keys/server_key.pem' }); // + keys/worker_*.pem
 */
export async function loadCredentials(options: CredentialOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<LoadedCredentials> {
  const core = (['caCert', 'serverCert', 'serverKey'] as const).map((role) => [role, sourceOf(role, options, env)] as const);
  const given = core.filter(([, source]) => source !== undefined);
  if (given.length === 0) {
    const { caKey: _caKey, ...generated } = await generateCredentials();
    return { ...generated, serverName: COORDINATOR_NAME, source: 'generated' };
  }
  if (given.length < 3) {
    const missing = core.filter(([, source]) => source === undefined).map(([role]) => `${FLAG[role]} (${LABEL[role]}, env ${CREDENTIAL_ENV[role]})`);
    throw new ConfigError(`TLS credentials are incomplete: missing ${missing.join(' and ')}; give all three of -c, -s, -k or none`);
  }
  const sources = Object.fromEntries(core) as Record<'caCert' | 'serverCert' | 'serverKey', Source>;
  const workerSources = workerSourcesOf(options, env, sources.serverCert);

  // Read at once, but report the first failure in this order: which read fails first in time varies
  // from run to run (both worker files missing named either one).
  const reads = await Promise.allSettled([
    readPem('caCert', sources.caCert),
    readPem('serverCert', sources.serverCert),
    readPem('serverKey', sources.serverKey),
    readPem('workerCert', workerSources.workerCert),
    readPem('workerKey', workerSources.workerKey),
  ]);
  const failed = reads.find((read) => read.status === 'rejected');
  if (failed) throw failed.reason;
  const [caPem, serverPem, serverKeyPem, workerPem, workerKeyPem] = reads.map((read) => (read as PromiseFulfilledResult<string>).value) as [string, string, string, string, string];
  const ca = parseCert('caCert', caPem, sources.caCert);
  if (!ca.ca) throw new ConfigError(`${describe('caCert', sources.caCert)} is not a CA certificate (basicConstraints CA:TRUE)`);
  const server = parseCert('serverCert', serverPem, sources.serverCert);
  const worker = parseCert('workerCert', workerPem, workerSources.workerCert);
  const serverKey = parseKey('serverKey', serverKeyPem, sources.serverKey);
  const workerKey = parseKey('workerKey', workerKeyPem, workerSources.workerKey);

  checkLeaf('serverCert', server, sources.serverCert, ca, sources.caCert, SERVER_AUTH, 'serverAuth');
  checkLeaf('workerCert', worker, workerSources.workerCert, ca, sources.caCert, CLIENT_AUTH, 'clientAuth');
  checkPair('serverKey', server, serverKey, sources.serverKey, sources.serverCert);
  checkPair('workerKey', worker, workerKey, workerSources.workerKey, workerSources.workerCert);

  return {
    caCert: caPem,
    serverCert: serverPem,
    serverKey: serverKeyPem,
    workerCert: workerPem,
    workerKey: workerKeyPem,
    serverName: serverNameOf(server, sources.serverCert),
    source: 'files',
  };
}

function sourceOf(role: Role, options: CredentialOptions, env: NodeJS.ProcessEnv): Source | undefined {
  const path = options[role];
  if (path !== undefined && path !== '') return { kind: 'file', path, via: FLAG[role] ?? `--${kebab(role)}` };
  const name = CREDENTIAL_ENV[role];
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  return value.trimStart().startsWith('-----BEGIN') ? { kind: 'env', name, pem: value } : { kind: 'file', path: value, via: `env ${name}` };
}

function workerSourcesOf(options: CredentialOptions, env: NodeJS.ProcessEnv, serverCert: Source): Record<'workerCert' | 'workerKey', Source> {
  const beside = serverCert.kind === 'file' ? dirname(serverCert.path) : undefined;
  const pick = (role: 'workerCert' | 'workerKey', file: string): Source => {
    const explicit = sourceOf(role, options, env);
    if (explicit) return explicit;
    if (beside !== undefined) return { kind: 'file', path: join(beside, file), via: `beside the server certificate` };
    throw new ConfigError(
      `no ${LABEL[role]}: set env ${CREDENTIAL_ENV[role]} (PEM or file), or give the server certificate as a file ` +
        `with ${CREDENTIAL_FILES.workerCert} and ${CREDENTIAL_FILES.workerKey} beside it (xc-orch genkeys writes them)`,
    );
  };
  return { workerCert: pick('workerCert', CREDENTIAL_FILES.workerCert), workerKey: pick('workerKey', CREDENTIAL_FILES.workerKey) };
}

function describe(role: Role, source: Source): string {
  return source.kind === 'file' ? `${LABEL[role]} '${source.path}' (${source.via})` : `${LABEL[role]} (env ${source.name})`;
}

async function readPem(role: Role, source: Source): Promise<string> {
  if (source.kind === 'env') return unescapeNewlines(source.pem);
  try {
    return await readFile(source.path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    throw new ConfigError(`cannot read ${describe(role, source)}: ${why}`);
  }
}

/** Env values set with literal `\n` (CI secrets often are) become real PEM line breaks. */
function unescapeNewlines(value: string): string {
  return value.includes('\n') ? value : value.replace(/\\n/g, '\n');
}

function parseCert(role: Role, pem: string, source: Source): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${describe(role, source)} is not a PEM certificate`);
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${describe(role, source)} is not a valid PEM certificate`);
  }
}

function parseKey(role: Role, pem: string, source: Source): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new ConfigError(`${describe(role, source)} is encrypted; give an unencrypted key`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new ConfigError(`${describe(role, source)} is not a PEM private key`);
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ConfigError(`${describe(role, source)} is not a valid PEM private key`);
  }
}

function checkLeaf(role: Role, cert: X509Certificate, source: Source, ca: X509Certificate, caSource: Source, purpose: string, purposeName: string): void {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new ConfigError(`${describe(role, source)} was not issued by ${describe('caCert', caSource)}`);
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now) throw new ConfigError(`${describe(role, source)} expired on ${cert.validTo}`);
  if (Date.parse(cert.validFrom) > now + 60 * 60 * 1000) throw new ConfigError(`${describe(role, source)} is not valid before ${cert.validFrom}`);
  if (Date.parse(ca.validTo) < now) throw new ConfigError(`${describe('caCert', caSource)} expired on ${ca.validTo}`);
  const usages = cert.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(purpose)) {
    throw new ConfigError(`${describe(role, source)} is not issued for ${purposeName} (extendedKeyUsage)`);
  }
}

function checkPair(keyRole: Role, cert: X509Certificate, key: KeyObject, keySource: Source, certSource: Source): void {
  const certRole: Role = keyRole === 'serverKey' ? 'serverCert' : 'workerCert';
  if (!cert.checkPrivateKey(key)) throw new ConfigError(`${describe(keyRole, keySource)} does not match ${describe(certRole, certSource)}`);
}

/** The DNS name workers must check: the certificate's first DNS subjectAltName, else its CN. */
function serverNameOf(cert: X509Certificate, source: Source): string {
  const dns = cert.subjectAltName
    ?.split(',')
    .map((entry) => entry.trim())
    .find((entry) => entry.startsWith('DNS:'));
  if (dns) return dns.slice(4);
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1]?.trim();
  if (cn) return cn;
  throw new ConfigError(`${describe('serverCert', source)} names no host (no DNS subjectAltName, no CN), so workers cannot verify it`);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
