/**
 * mu's invocation payload, so mu's own coordinators can drive an xc-orch worker: `cacert`,
 * `srvcrt`, `srvkey` as bare base64 bodies of PEM blocks (what mu's `read_pem` produces; `srvcrt`
 * may be a space-separated chain), RSA keys, no worker pair and no `srvname`. As mu did, the worker
 * presents `srvcrt`/`srvkey`; unlike mu, it accepts the coordinator only if it presents exactly
 * `srvcrt`. Problems name fields, never their contents (the payload holds a private key).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

/** The worker's credentials made from mu's fields, as PEM text. */
export interface MuCredentials {
  cacert: string;
  /** `srvcrt`, leaf first, then the rest of its chain. */
  wrkcert: string;
  wrkkey: string;
  /** The leaf of `srvcrt`: the certificate the coordinator must present. */
  pinned_cert: string;
}

const BASE64_BODIES = /^[A-Za-z0-9+/=\s]+$/;
/** The encodings mu-era keys come in: OpenSSL's `RSA PRIVATE KEY` first (what mu wrapped bodies as). */
const KEY_TYPES = ['pkcs1', 'pkcs8', 'sec1'] as const;

/**
 * True for a payload in mu's shape: `srvcrt`/`srvkey` and none of our `wrkcert`/`wrkkey`.
 *
 * @example isMuPayload({ cacert: 'MIIB...', srvcrt: 'MIIC...', srvkey: 'MIIE...' }) // true
 */
export function isMuPayload(input: Readonly<Record<string, unknown>>): boolean {
  return input.wrkcert === undefined && input.wrkkey === undefined && (input.srvcrt !== undefined || input.srvkey !== undefined);
}

/**
 * Read mu's three fields (bare bodies, or PEM text too) into PEM credentials; every problem found
 * is pushed onto `problems` and the result is then undefined.
 *
 * @example readMuCredentials({ cacert, srvcrt, srvkey }, problems)?.pinned_cert // '-----BEGIN CERTIFICATE-----...'
 */
export function readMuCredentials(input: Readonly<Record<string, unknown>>, problems: string[]): MuCredentials | undefined {
  const before = problems.length;
  const ca = certificates(input.cacert, 'cacert', problems);
  const chain = certificates(input.srvcrt, 'srvcrt', problems);
  const key = privateKey(input.srvkey, problems);
  if (problems.length > before || !ca || !chain || !key) return undefined;
  if (!chain[0]!.checkPrivateKey(key)) {
    problems.push('srvkey is not the key of the first srvcrt certificate');
    return undefined;
  }
  return {
    cacert: ca.map((cert) => cert.toString()).join(''),
    wrkcert: chain.map((cert) => cert.toString()).join(''),
    wrkkey: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pinned_cert: chain[0]!.toString(),
  };
}

function certificates(value: unknown, field: string, problems: string[]): X509Certificate[] | undefined {
  const problem = `${field} must be base64 certificate bodies (mu's read_pem) or PEM text`;
  if (value === undefined) {
    problems.push(`${field} is required in mode 1 (mu's payload)`);
    return undefined;
  }
  if (typeof value !== 'string') {
    problems.push(problem);
    return undefined;
  }
  const blocks = value.includes('-----BEGIN ') ? pemBlocks(value) : bodies(value).map((body) => pem('CERTIFICATE', body));
  try {
    if (blocks.length === 0) throw new Error('empty');
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    problems.push(problem);
    return undefined;
  }
}

function privateKey(value: unknown, problems: string[]): KeyObject | undefined {
  const problem = 'srvkey must be a base64 private key body (PKCS#1, PKCS#8 or SEC1) or PEM text';
  if (value === undefined) {
    problems.push("srvkey is required in mode 1 (mu's payload)");
    return undefined;
  }
  if (typeof value !== 'string') {
    problems.push(problem);
    return undefined;
  }
  if (value.includes('-----BEGIN ')) {
    try {
      return createPrivateKey(value);
    } catch {
      problems.push(problem);
      return undefined;
    }
  }
  const der = BASE64_BODIES.test(value) ? Buffer.from(value.replace(/\s+/g, ''), 'base64') : undefined;
  for (const type of KEY_TYPES) {
    if (!der || der.byteLength === 0) break;
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // Try the next encoding.
    }
  }
  problems.push(problem);
  return undefined;
}

/** mu's `srvcrt` is bodies separated by spaces (line breaks inside a body are tolerated). */
function bodies(text: string): string[] {
  if (!BASE64_BODIES.test(text)) return [];
  return text
    .split(/ +/)
    .map((body) => body.replace(/\s+/g, ''))
    .filter((body) => body !== '');
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

function pem(label: string, body: string): string {
  return `-----BEGIN ${label}-----\n${body.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END ${label}-----\n`;
}
