import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, StoreError } from '../common/errors.js';
import { S3Store, compileS3Options, type S3StoreOptions } from '../store/s3Store.js';
import { expectRejection } from './support/expectRejection.js';
import { startS3Server, type S3TestServer } from './support/s3Server.js';
import { useTempDirs } from './support/tempDirs.js';

const MiB = 1024 * 1024;
const BUCKET = 'xc-test';

let s3: S3TestServer;
// Registered before the afterEach that closes the stores, so its cleanup runs after it (hooks unwind in reverse).
const tempDir = useTempDirs();
let dir: string;
const stores: S3Store[] = [];

/** A store on the test server; fast retries so that failure tests stay short. */
function openTestStore(options: S3StoreOptions = {}, bucket = BUCKET): S3Store {
  const store = new S3Store(bucket, { endpoint: s3.endpoint, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options });
  stores.push(store);
  return store;
}

/** Expect a StoreError with this code and a one-line message. */
async function expectStoreError(promise: Promise<unknown>, code: string): Promise<StoreError> {
  const error = await expectRejection(promise, StoreError);
  expect(error.code).toBe(code);
  expect(error.message).not.toMatch(/\n/);
  return error;
}

/** Names in `dir`, so a test can tell that a failure left nothing behind. */
async function entries(): Promise<string[]> {
  return (await readdir(dir)).sort();
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
});

afterAll(async () => {
  await s3?.stop();
});

beforeEach(async () => {
  dir = await tempDir('xc-s3-');
  // Only the test server's key pair, from the environment: the SDK's default chain is the only source.
  vi.stubEnv('AWS_ACCESS_KEY_ID', s3.credentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3.credentials.secretAccessKey);
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  vi.stubEnv('AWS_PROFILE', undefined);
  vi.stubEnv('AWS_REGION', s3.region);
  vi.stubEnv('AWS_ENDPOINT_URL_S3', undefined);
  vi.stubEnv('AWS_ENDPOINT_URL', undefined);
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-aws-config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'no-aws-credentials'));
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  s3.takeRequests();
});

afterEach(async () => {
  vi.unstubAllEnvs();
  for (const store of stores.splice(0)) store.close();
});

describe('S3Store round trips', () => {
  it('puts and downloads a small object byte for byte, keys with spaces and non-ASCII included', async () => {
    const store = openTestStore();
    const body = randomBytes(1000);
    for (const key of ['small/a.bin', 'small/with space+plus.bin', 'small/é€😀.bin']) {
      await store.put(key, body);
      const file = join(dir, 'out.bin');
      await store.download(key, file);
      expect(sha(await readFile(file))).toBe(sha(body));
      expect(await store.exists(key)).toBe(true);
    }
    expect(await store.exists('small/absent.bin')).toBe(false);
    expect(await entries()).toEqual(['out.bin']);
  });

  it('uploads and downloads an empty file', async () => {
    const store = openTestStore();
    await writeFile(join(dir, 'empty'), '');
    await store.upload('small/empty', join(dir, 'empty'));
    await store.download('small/empty', join(dir, 'back'));
    expect((await readFile(join(dir, 'back'))).length).toBe(0);
  });

  it('replaces an existing local file only when the download is complete', async () => {
    const store = openTestStore();
    await store.put('small/new.bin', Buffer.from('new contents'));
    await writeFile(join(dir, 'target'), 'old contents');
    await store.download('small/new.bin', join(dir, 'target'));
    expect(await readFile(join(dir, 'target'), 'utf8')).toBe('new contents');
  });

  it('moves a 20 MiB file up in parts and back as a stream, byte-identical', async () => {
    const store = openTestStore();
    const body = randomBytes(20 * MiB);
    await writeFile(join(dir, 'big.bin'), body);
    await store.upload('big/20MiB.bin', join(dir, 'big.bin'));
    const seen = s3.takeRequests();
    expect(seen.filter((r) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query))).toHaveLength(1);
    expect(seen.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.query))).toHaveLength(3); // 8 + 8 + 4 MiB
    await store.download('big/20MiB.bin', join(dir, 'big.back'));
    expect(sha(await readFile(join(dir, 'big.back')))).toBe(sha(body));
    expect(await entries()).toEqual(['big.back', 'big.bin']);
  });

  it('uploads a file below the part size in one PUT', async () => {
    const store = openTestStore();
    const body = randomBytes(3 * MiB);
    await writeFile(join(dir, 'mid.bin'), body);
    await store.upload('mid/3MiB.bin', join(dir, 'mid.bin'));
    const seen = s3.takeRequests();
    expect(seen.some((r) => /uploads|partNumber/.test(r.query))).toBe(false);
    expect(seen.filter((r) => r.method === 'PUT')).toHaveLength(1);
    await store.download('mid/3MiB.bin', join(dir, 'mid.back'));
    expect(sha(await readFile(join(dir, 'mid.back')))).toBe(sha(body));
  });

  it('finds the endpoint in AWS_ENDPOINT_URL_S3 and addresses the bucket by path', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    const store = new S3Store(BUCKET);
    stores.push(store);
    expect(store.config.endpoint).toBe(s3.endpoint);
    await store.put('env/endpoint.txt', Buffer.from('via env'));
    expect(s3.takeRequests().map((r) => r.path)).toEqual([`${BUCKET}/env/endpoint.txt`]);
  });
});

describe('S3Store listing', () => {
  it('lists every key under a prefix in byte order across many pages', async () => {
    const store = openTestStore({ listPageSize: 7 });
    const keys = Array.from({ length: 25 }, (_, i) => `paged/${String(i).padStart(3, '0')}.png`);
    keys.push('paged/x-last.png', 'paged/y.png');
    for (const key of keys) await store.put(key, Buffer.from(key));
    await store.put('pagedother/x', Buffer.from('x'));
    s3.takeRequests();
    const listed: string[] = [];
    for await (const key of store.list('paged/')) listed.push(key);
    expect(listed).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(s3.takeRequests().filter((r) => /list-type=2/.test(r.query))).toHaveLength(4);
  });

  it('goes past the first page at the default page size (1000 keys)', async () => {
    const store = openTestStore();
    const keys = Array.from({ length: 1003 }, (_, i) => `thousand/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, Buffer.from('k'))));
    }
    s3.takeRequests();
    const listed: string[] = [];
    for await (const key of store.list('thousand/')) listed.push(key);
    expect(listed).toEqual(keys);
    expect(s3.takeRequests().filter((r) => /list-type=2/.test(r.query))).toHaveLength(2);
  });

  it('refuses a listing out of byte order instead of repeating keys (fauxqs 1.9.2 sorts by locale)', async () => {
    const store = openTestStore({ listPageSize: 2 });
    for (const key of ['order/a', 'order/b', 'order/c', 'order/~']) await store.put(key, Buffer.from(key));
    const listed: string[] = [];
    const error = await expectStoreError(
      (async () => {
        for await (const key of store.list('order/')) listed.push(key);
      })(),
      'Other',
    );
    expect(error.message).toMatch(/not in S3's byte order/);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('lists nothing under an unused prefix', async () => {
    const store = openTestStore();
    const listed: string[] = [];
    for await (const key of store.list('nothing-here/')) listed.push(key);
    expect(listed).toEqual([]);
  });
});

describe('S3Store failures', () => {
  it('reports a missing key with bucket, key and file, and leaves no file', async () => {
    const store = openTestStore();
    const file = join(dir, 'never.png');
    const error = await expectStoreError(store.download('missing/00000001.png', file), 'NoSuchKey');
    expect(error.message).toBe(`NoSuchKey: s3://${BUCKET}/missing/00000001.png -> ${file}: no such key`);
    expect(await entries()).toEqual([]);
  });

  it('reports a missing bucket for every operation', async () => {
    const store = openTestStore({}, 'xc-no-such-bucket');
    await writeFile(join(dir, 'up.bin'), 'x');
    const down = await expectStoreError(store.download('k', join(dir, 'down.bin')), 'NoSuchBucket');
    expect(down.message).toContain('s3://xc-no-such-bucket/k');
    expect(down.message).toContain(join(dir, 'down.bin'));
    await expectStoreError(store.upload('k', join(dir, 'up.bin')), 'NoSuchBucket');
    await expectStoreError(store.put('k', Buffer.from('x')), 'NoSuchBucket');
    await expectStoreError(
      (async () => {
        for await (const key of store.list('')) void key;
      })(),
      'NoSuchBucket',
    );
    expect(await entries()).toEqual(['up.bin']);
  });

  it('reports a wrong secret key as AccessDenied, without the secret', async () => {
    const store = openTestStore();
    await store.put('auth/x', Buffer.from('x'));
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'not-the-secret-at-all');
    const wrong = openTestStore();
    const error = await expectStoreError(wrong.download('auth/x', join(dir, 'x')), 'AccessDenied');
    expect(error.message).toMatch(/SignatureDoesNotMatch/);
    expect(error.message).not.toContain('not-the-secret-at-all');
    await expectStoreError(wrong.put('auth/y', Buffer.from('y')), 'AccessDenied');
    expect(await wrong.exists('auth/x').catch((e: StoreError) => e.code)).toBe('AccessDenied');
    expect(await entries()).toEqual([]);
  });

  it('reports an unknown access key as AccessDenied', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIANOTKNOWNHERE');
    const error = await expectStoreError(openTestStore().put('auth/z', Buffer.from('z')), 'AccessDenied');
    expect(error.message).toMatch(/InvalidAccessKeyId/);
  });

  it('says so when the default chain finds no credentials at all', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    const error = await expectStoreError(openTestStore().put('auth/none', Buffer.from('z')), 'AccessDenied');
    expect(error.message).toMatch(/no AWS credentials found/);
  });

  it('asks for a region when none is configured anywhere', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const error = await expectStoreError(openTestStore().put('region/x', Buffer.from('x')), 'Other');
    expect(error.message).toMatch(/no AWS region configured \(use --region or set AWS_REGION\)/);
  });

  it('reports a bucket in another region with the region to use', async () => {
    s3.placeBucketIn('xc-elsewhere', 'eu-west-1');
    const store = openTestStore({ region: 'us-east-1' }, 'xc-elsewhere');
    const error = await expectStoreError(store.download('k', join(dir, 'k')), 'WrongRegion');
    expect(error.message).toMatch(/bucket is in eu-west-1, not us-east-1/);
    await expectStoreError(store.exists('k'), 'WrongRegion');
    expect(await entries()).toEqual([]);
  });

  it('fails cleanly when the server drops the connection mid-download every time', async () => {
    const store = openTestStore();
    const body = randomBytes(2 * MiB);
    await store.put('cut/a.bin', body);
    await writeFile(join(dir, 'a.bin'), 'previous version');
    s3.addFault({ method: 'GET', pathIncludes: 'cut/a.bin', count: 10, action: { cut: { afterBytes: 256 * 1024 } } });
    const error = await expectStoreError(store.download('cut/a.bin', join(dir, 'a.bin')), 'Network');
    expect(error.message).toContain(`s3://${BUCKET}/cut/a.bin -> ${join(dir, 'a.bin')}`);
    expect(error.retryable).toBe(true);
    expect(s3.takeRequests().filter((r) => r.method === 'GET')).toHaveLength(store.config.retry.attempts);
    expect(await entries()).toEqual(['a.bin']);
    expect(await readFile(join(dir, 'a.bin'), 'utf8')).toBe('previous version');
  });

  it('fetches again when a body breaks once, and gets every byte', async () => {
    const store = openTestStore();
    const body = randomBytes(2 * MiB);
    await store.put('cut/b.bin', body);
    s3.addFault({ method: 'GET', pathIncludes: 'cut/b.bin', count: 1, action: { cut: { afterBytes: 1000 } } });
    await store.download('cut/b.bin', join(dir, 'b.bin'));
    expect(sha(await readFile(join(dir, 'b.bin')))).toBe(sha(body));
    expect(s3.takeRequests().filter((r) => r.method === 'GET')).toHaveLength(2);
    expect(await entries()).toEqual(['b.bin']);
  });

  it('gives up on a body that stops flowing, after the socket timeout, leaving no file', async () => {
    const store = openTestStore({ socketTimeoutMs: 300, retry: { attempts: 2, baseDelayMs: 1 } });
    await store.put('stall/d.bin', randomBytes(1 * MiB));
    s3.addFault({ method: 'GET', pathIncludes: 'stall/d.bin', count: 2, action: { stall: { afterBytes: 64 * 1024 } } });
    const error = await expectStoreError(store.download('stall/d.bin', join(dir, 'd.bin')), 'Network');
    expect(error.message).toMatch(/timed out after 300 ms of inactivity/);
    expect(await entries()).toEqual([]);
  });

  it('catches a corrupted body (MD5 against the ETag) and leaves no file', async () => {
    const store = openTestStore({ retry: { attempts: 2, baseDelayMs: 1 } });
    await store.put('bad/c.bin', randomBytes(100_000));
    s3.addFault({ method: 'GET', pathIncludes: 'bad/c.bin', count: 2, action: { corrupt: { atByte: 5000 } } });
    const error = await expectStoreError(store.download('bad/c.bin', join(dir, 'c.bin')), 'Integrity');
    expect(error.message).toMatch(/does not match ETag/);
    expect(await entries()).toEqual([]);
  });

  it('retries 503 answers to GET, PUT, parts and list, then succeeds', async () => {
    const store = openTestStore();
    const small = randomBytes(1000);
    s3.addFault({ method: 'PUT', pathIncludes: 'flaky/small', count: 2, action: { status: 503, code: 'SlowDown' } });
    await store.put('flaky/small', small);
    s3.addFault({ method: 'GET', pathIncludes: 'flaky/small', count: 2, action: { status: 503, code: 'ServiceUnavailable' } });
    await store.download('flaky/small', join(dir, 'small'));
    expect(sha(await readFile(join(dir, 'small')))).toBe(sha(small));
    expect(s3.takeRequests().map((r) => r.method)).toEqual(['PUT', 'PUT', 'PUT', 'GET', 'GET', 'GET']);

    const big = randomBytes(12 * MiB);
    await writeFile(join(dir, 'big'), big);
    s3.addFault({ method: 'PUT', pathIncludes: 'flaky/big', count: 2, action: { status: 500, code: 'InternalError' } });
    await store.upload('flaky/big', join(dir, 'big'));
    await store.download('flaky/big', join(dir, 'big.back'));
    expect(sha(await readFile(join(dir, 'big.back')))).toBe(sha(big));

    s3.addFault({ method: 'GET', pathIncludes: BUCKET, count: 2, action: { status: 503, code: 'SlowDown' } });
    const listed: string[] = [];
    for await (const key of store.list('flaky/')) listed.push(key);
    expect(listed).toEqual(['flaky/big', 'flaky/small']);
  });

  it('gives up after the configured attempts when the service stays unavailable', async () => {
    const store = openTestStore({ retry: { attempts: 3 } });
    await store.put('down/x', Buffer.from('x'));
    s3.takeRequests();
    s3.addFault({ method: 'GET', pathIncludes: 'down/x', count: 100, action: { status: 503, code: 'ServiceUnavailable' } });
    const error = await expectStoreError(store.download('down/x', join(dir, 'x')), 'Network');
    expect(error.message).toMatch(/ServiceUnavailable/);
    expect(s3.takeRequests()).toHaveLength(3);
    expect(await entries()).toEqual([]);
  });

  it('reports an endpoint where nothing listens as a network failure', async () => {
    const port = await closedPort();
    const store = openTestStore({ endpoint: `http://127.0.0.1:${port}`, retry: { attempts: 2 } });
    const error = await expectStoreError(store.download('k', join(dir, 'k')), 'Network');
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(await entries()).toEqual([]);
  });

  it('names the local file when it cannot be read or written', async () => {
    const store = openTestStore();
    const missing = join(dir, 'no-such-file');
    const up = await expectStoreError(store.upload('local/x', missing), 'LocalFile');
    expect(up.message).toContain(missing);
    await store.put('local/y', Buffer.from('y'));
    const target = join(dir, 'no-such-dir', 'y');
    const down = await expectStoreError(store.download('local/y', target), 'LocalFile');
    expect(down.message).toContain(target);
    expect(await entries()).toEqual([]);
  });

  it('refuses empty and oversize keys before asking the server', async () => {
    const store = openTestStore();
    await expectStoreError(store.put('', Buffer.from('x')), 'InvalidKey');
    await expectStoreError(store.download('k'.repeat(1025), join(dir, 'x')), 'InvalidKey');
    expect(s3.takeRequests()).toEqual([]);
  });
});

describe('compileS3Options', () => {
  it('fills in defaults and takes the endpoint from the standard variables', () => {
    const config = compileS3Options({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    expect(config).toMatchObject({ endpoint: 'http://127.0.0.1:1', partSizeBytes: 8 * MiB, partConcurrency: 4, listPageSize: 1000 });
    expect(compileS3Options({}, { AWS_ENDPOINT_URL_S3: 'http://a:1', AWS_ENDPOINT_URL: 'http://b:2' }).endpoint).toBe('http://a:1');
    expect(compileS3Options({}, { AWS_ENDPOINT_URL_S3: 'http://a:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).endpoint).toBeUndefined();
    expect(compileS3Options({ endpoint: 'https://x.example' }, { AWS_ENDPOINT_URL_S3: 'http://a:1' }).endpoint).toBe('https://x.example');
  });

  it('refuses bad values with a ConfigError', () => {
    expect(() => compileS3Options({ partSizeBytes: MiB })).toThrow(ConfigError);
    expect(() => compileS3Options({ listPageSize: 1001 })).toThrow(/listPageSize/);
    expect(() => compileS3Options({ partConcurrency: 0 })).toThrow(ConfigError);
    expect(() => compileS3Options({ endpoint: 'localhost:9000' })).toThrow(/http\(s\) URL/);
    expect(() => compileS3Options({ retry: { attempts: 0 } })).toThrow(ConfigError);
  });
});

/** A port on 127.0.0.1 that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}
