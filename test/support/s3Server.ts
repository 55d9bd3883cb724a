/**
 * A real S3-compatible server on 127.0.0.1 for tests: fauxqs (in-memory S3, answers the SDK with its
 * default checksum behaviour) behind a small front of our own on another port. fauxqs accepts any
 * credentials, so the front checks each request's SigV4 signature against one key pair (wrong
 * credentials get S3's 403); it also injects the faults the tests need (5xx answers, bodies cut or
 * corrupted mid-stream, a bucket that lives in another region) and records the requests it saw.
 *
 * @example
 * const s3 = await startS3Server();
 * await s3.createBucket('frames');
 * vi.stubEnv(...s3.env()) // or spawn a child with { env: { ...process.env, ...s3.env() } }
 * await s3.stop();
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';

export interface S3ServerOptions {
  /** Region the credentials are scoped to and buckets live in. Default `us-east-1`. */
  region?: string;
}

/** One request as the front saw it (after authentication, before faults). */
export interface SeenRequest {
  method: string;
  /** Bucket and key, decoded, e.g. `frames/a/b.png`. */
  path: string;
  /** Raw query string without `?`. */
  query: string;
}

/** A fault applied to the next `count` matching requests. */
export interface Fault {
  /** Matches requests whose method is this (default: any). */
  method?: string;
  /** Matches requests whose decoded path contains this (default: any). */
  pathIncludes?: string;
  count: number;
  /**
   * - `status`: answer with this HTTP status and an S3 error body, without forwarding.
   * - `cut`: forward, but destroy the connection after `afterBytes` bytes of the response body.
   * - `corrupt`: forward, flipping the bits of the body byte at offset `atByte`.
   * - `stall`: forward `afterBytes` bytes of the body, then send nothing more (until the client gives up).
   */
  action:
    | { status: number; code: string }
    | { cut: { afterBytes: number } }
    | { corrupt: { atByte: number } }
    | { stall: { afterBytes: number } };
}

export interface S3TestServer {
  /** URL of the front, e.g. `http://127.0.0.1:40123`: what clients use. */
  readonly endpoint: string;
  readonly region: string;
  /** The only key pair the front accepts. Test values, never real ones. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment for the SDK's default credential chain and endpoint discovery. */
  env(): Record<string, string>;
  createBucket(name: string): Promise<void>;
  /** Make `bucket` answer 301 PermanentRedirect to clients signing for any other region. */
  placeBucketIn(bucket: string, region: string): void;
  addFault(fault: Fault): void;
  /** Requests seen since the last call. */
  takeRequests(): SeenRequest[];
  stop(): Promise<void>;
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const region = options.region ?? 'us-east-1';
  const credentials = { accessKeyId: 'XCTESTKEY', secretAccessKey: 'xc-test-secret-not-real' };
  const backend = buildApp({ logger: false, defaultRegion: region });
  const backendUrl = new URL(await backend.listen({ port: 0, host: '127.0.0.1' }));
  const faults: Fault[] = [];
  const bucketRegions = new Map<string, string>();
  let seen: SeenRequest[] = [];

  const front = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const path = safeDecode(url.pathname.slice(1));
    const denial = checkSignature(req, credentials);
    if (denial) return answerError(req, res, 403, denial.code, denial.message);
    const scopeRegion = credentialScope(req)?.region;
    const bucket = path.split('/')[0] ?? '';
    const home = bucketRegions.get(bucket);
    if (home !== undefined && home !== scopeRegion) {
      res.setHeader('x-amz-bucket-region', home);
      return answerError(req, res, 301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.');
    }
    seen.push({ method: req.method ?? 'GET', path, query: url.search.slice(1) });
    const fault = takeFault(faults, req.method ?? 'GET', path);
    if (fault && 'status' in fault.action) {
      return answerError(req, res, fault.action.status, fault.action.code, 'Injected by the test server.');
    }
    forward(req, res, backendUrl, fault?.action);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;

  const admin = new S3Client({ region, endpoint, forcePathStyle: true, credentials });

  return {
    endpoint,
    region,
    credentials,
    env: () => ({
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_S3: endpoint,
    }),
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    placeBucketIn(bucket, home) {
      bucketRegions.set(bucket, home);
    },
    addFault(fault) {
      faults.push({ ...fault });
    },
    takeRequests() {
      const taken = seen;
      seen = [];
      return taken;
    },
    async stop() {
      admin.destroy();
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await backend.close();
    },
  };
}

function takeFault(faults: Fault[], method: string, path: string): Fault | undefined {
  const index = faults.findIndex(
    (f) => f.count > 0 && (f.method === undefined || f.method === method) && (f.pathIncludes === undefined || path.includes(f.pathIncludes)),
  );
  const fault = faults[index];
  if (!fault) return undefined;
  fault.count -= 1;
  if (fault.count === 0) faults.splice(index, 1);
  return fault;
}

function forward(req: IncomingMessage, res: ServerResponse, backend: URL, action: Fault['action'] | undefined): void {
  const upstream = httpRequest(
    { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (action && 'cut' in action) {
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (res.destroyed) return;
          const room = action.cut.afterBytes - sent;
          if (chunk.length >= room) {
            res.write(chunk.subarray(0, room), () => res.socket?.destroy());
            answer.destroy();
            sent = action.cut.afterBytes;
            return;
          }
          sent += chunk.length;
          res.write(chunk);
        });
        answer.on('end', () => res.end());
        return;
      }
      if (action && 'stall' in action) {
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          const room = action.stall.afterBytes - sent;
          if (room > 0) res.write(chunk.subarray(0, room));
          sent += Math.min(room, chunk.length);
          if (sent >= action.stall.afterBytes) answer.pause();
        });
        return;
      }
      if (action && 'corrupt' in action) {
        let offset = 0;
        answer.on('data', (chunk: Buffer) => {
          const at = action.corrupt.atByte - offset;
          if (at >= 0 && at < chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[at] = (chunk[at] ?? 0) ^ 0xff;
          }
          offset += chunk.length;
          res.write(chunk);
        });
        answer.on('end', () => res.end());
        return;
      }
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

function answerError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  const body =
    req.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>XCTEST</RequestId></Error>`;
  // Drain the request first so that the connection stays usable for the client's retry.
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

interface Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function credentialScope(req: IncomingMessage): Scope | undefined {
  const match = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? '');
  if (!match) return undefined;
  const [, accessKeyId = '', date = '', region = '', service = ''] = match;
  return { accessKeyId, date, region, service };
}

/**
 * Check an `Authorization: AWS4-HMAC-SHA256 ...` header the way S3 does (header signature only: the
 * payload hash is taken from `x-amz-content-sha256` as signed). Returns S3's error on failure.
 */
function checkSignature(
  req: IncomingMessage,
  credentials: { accessKeyId: string; secretAccessKey: string },
): { code: string; message: string } | undefined {
  const authorization = req.headers.authorization ?? '';
  const scope = credentialScope(req);
  const signedHeaders = /SignedHeaders=([^,\s]+)/.exec(authorization)?.[1];
  const signature = /Signature=([0-9a-f]{64})/.exec(authorization)?.[1];
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ') || !scope || !signedHeaders || !signature) {
    return { code: 'AccessDenied', message: 'Access Denied' };
  }
  if (scope.accessKeyId !== credentials.accessKeyId) {
    return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  }
  const url = new URL(req.url ?? '/', 'http://front');
  const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${headerValue(req, name)}\n`)
    .join('');
  const canonicalRequest = [
    req.method,
    url.pathname,
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeaders,
    headerValue(req, 'x-amz-content-sha256') || 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const amzDate = headerValue(req, 'x-amz-date');
  const scopeText = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scopeText, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, scope.date);
  for (const part of [scope.region, scope.service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return undefined;
}

function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text.trim().replace(/\s+/g, ' ');
}

function canonicalQuery(raw: string): string {
  if (raw === '') return '';
  return raw
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      return [escape(safeDecode(name)), escape(safeDecode(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
