/**
 * An S3 bucket (or a bucket of an S3-compatible service) as an {@link ObjectStore}: mu's data plane.
 * Bodies stream both ways; memory stays bounded by `partSizeBytes * partConcurrency` for uploads and
 * by the stream buffers for downloads, whatever the object size.
 *
 * Retries come in two layers that never multiply. Every request is retried by the SDK's standard
 * strategy (jittered exponential backoff, `retry.attempts` attempts) on 5xx, throttling, timeouts
 * and connection resets; upload parts are buffered, so each part retries on its own. A download
 * whose body breaks after the response began (a reset, a truncated or corrupted body) cannot be
 * retried by the SDK, so we fetch it again from the start under {@link withRetry}.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pino, type Logger } from 'pino';
import { quietAwsSdkNodeNotice } from '../common/awsSdkNotice.js';
import { ConfigError, StoreError, describeError, type StoreErrorCode } from '../common/errors.js';
import { tempName } from './localStore.js';
import { compileRetry, withRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import type { ObjectStore, TransferOptions } from './store.js';

const MiB = 1024 * 1024;

/** How to reach the bucket and how to move bytes. Every field is optional; defaults given on each. */
export interface S3StoreOptions {
  /** AWS region. Default: the SDK's standard configuration (`AWS_REGION`, `~/.aws/config`). */
  region?: string;
  /**
   * Endpoint of an S3-compatible service, e.g. `http://127.0.0.1:9000`; implies path-style
   * addressing. Default: the SDK's standard `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`), else AWS.
   */
  endpoint?: string;
  /** Files larger than this go up in parts of this size (S3's minimum is 5 MiB). Default 8 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once. Default 4. */
  partConcurrency?: number;
  /** Keys asked for per list request (S3's maximum is 1000). Default 1000. */
  listPageSize?: number;
  /** Giving up on a connection attempt, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Giving up on a connection that stays silent, in ms (also mid-body). Default 60000. */
  socketTimeoutMs?: number;
  /** Retries of transient failures. Defaults in {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Where retries and failures are logged. Default: silent. */
  logger?: Logger;
}

/** {@link S3StoreOptions} compiled: every field present, checked, in one unit. */
export interface S3StoreConfig {
  region: string | undefined;
  endpoint: string | undefined;
  partSizeBytes: number;
  partConcurrency: number;
  listPageSize: number;
  connectTimeoutMs: number;
  socketTimeoutMs: number;
  retry: RetryPolicy;
  logger: Logger;
}

export const S3_DEFAULTS = {
  partSizeBytes: 8 * MiB,
  partConcurrency: 4,
  listPageSize: 1000,
  connectTimeoutMs: 10_000,
  socketTimeoutMs: 60_000,
} as const;

/**
 * Compile options once, at the edge. `env` stands for `process.env` (for the endpoint variables).
 *
 * @example compileS3Options({ endpoint: 'http://127.0.0.1:9000' }).partSizeBytes // 8388608
 */
export function compileS3Options(options: S3StoreOptions = {}, env: NodeJS.ProcessEnv = process.env): S3StoreConfig {
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  const endpoint = options.endpoint ?? (ignoreEnv ? undefined : env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new ConfigError(`S3 endpoint must be an http(s) URL such as http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`);
  }
  const config: S3StoreConfig = {
    region: options.region || undefined,
    endpoint,
    partSizeBytes: options.partSizeBytes ?? S3_DEFAULTS.partSizeBytes,
    partConcurrency: options.partConcurrency ?? S3_DEFAULTS.partConcurrency,
    listPageSize: options.listPageSize ?? S3_DEFAULTS.listPageSize,
    connectTimeoutMs: options.connectTimeoutMs ?? S3_DEFAULTS.connectTimeoutMs,
    socketTimeoutMs: options.socketTimeoutMs ?? S3_DEFAULTS.socketTimeoutMs,
    retry: compileRetry(options.retry),
    logger: options.logger ?? pino({ level: 'silent' }),
  };
  requireInteger('partSizeBytes', config.partSizeBytes, 5 * MiB, 5 * 1024 * MiB);
  requireInteger('partConcurrency', config.partConcurrency, 1, 64);
  requireInteger('listPageSize', config.listPageSize, 1, 1000);
  requireInteger('connectTimeoutMs', config.connectTimeoutMs, 1, 3_600_000);
  requireInteger('socketTimeoutMs', config.socketTimeoutMs, 1, 3_600_000);
  return config;
}

/**
 * A bucket on S3 or an S3-compatible service. Credentials come only from the SDK's default provider
 * chain (environment, shared files, SSO, container or instance role) and are never logged.
 *
 * @example
 * const store = new S3Store('my-frames', { region: 'us-east-1' });
 * await store.upload('sintel-png16/00000001.png', './00000001.png');
 * for await (const key of store.list('sintel-png16/')) console.log(key);
 */
export class S3Store implements ObjectStore {
  readonly name: string;
  readonly bucket: string;
  readonly config: S3StoreConfig;
  private readonly client: S3Client;

  constructor(bucket: string, options: S3StoreOptions = {}) {
    this.bucket = bucket;
    this.name = bucket;
    this.config = compileS3Options(options);
    quietAwsSdkNodeNotice();
    this.client = new S3Client({
      ...(this.config.region ? { region: this.config.region } : {}),
      ...(this.config.endpoint ? { endpoint: this.config.endpoint, forcePathStyle: true } : {}),
      maxAttempts: this.config.retry.attempts,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: this.config.connectTimeoutMs,
        // An inactivity timer, which keeps running while a body streams (requestTimeout is a
        // total that would cut long transfers).
        socketTimeout: this.config.socketTimeoutMs,
      },
    });
  }

  async download(key: string, file: string, options: TransferOptions = {}): Promise<void> {
    checkKey(key, this.bucket);
    const target = resolve(file);
    const where = { key, file: target, arrow: '->' } as const;
    const { signal } = options;
    try {
      await withRetry(() => this.downloadOnce(key, target, signal), {
        policy: this.config.retry,
        isRetryable: (error) => error instanceof BodyFailure && signal?.aborted !== true,
        ...(signal ? { signal } : {}),
        onRetry: (error, attempt, delayMs) =>
          this.config.logger.warn({ bucket: this.bucket, key, attempt, delayMs, reason: describeError(error) }, 'download retried'),
      });
    } catch (error) {
      throw this.translate(error instanceof BodyFailure ? error.cause : error, where);
    }
  }

  async upload(key: string, file: string, options: TransferOptions = {}): Promise<void> {
    checkKey(key, this.bucket);
    const source = resolve(file);
    const where = { key, file: source, arrow: '<-' } as const;
    const { signal } = options;
    try {
      signal?.throwIfAborted();
      const size = (await stat(source)).size;
      const reader = createReadStream(source);
      const meter = new Meter();
      // pipe() does not forward errors; a file that fails mid-read must fail the upload.
      reader.on('error', (error) => meter.destroy(error));
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: reader.pipe(meter) },
        partSize: this.config.partSizeBytes,
        queueSize: this.config.partConcurrency,
        leavePartsOnError: false,
      });
      // Upload.abort() also aborts a multipart upload begun on the server.
      const abort = () => void upload.abort().catch(() => undefined);
      signal?.addEventListener('abort', abort, { once: true });
      const result = await upload.done().finally(() => {
        signal?.removeEventListener('abort', abort);
        reader.destroy();
      });
      if (meter.bytes !== size) throw new IntegrityFailure(`${source} changed size while being uploaded (${size} -> ${meter.bytes} bytes)`);
      const single = size <= this.config.partSizeBytes;
      await this.verifyStored(key, size, single ? meter.md5() : undefined, 'ETag' in result ? result.ETag : undefined, signal);
    } catch (error) {
      throw this.translate(error, where);
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    checkKey(key, this.bucket);
    try {
      const result = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.byteLength }));
      if (!etagMatches(result.ETag, md5Hex(body), result)) {
        throw new IntegrityFailure(`stored ETag ${result.ETag ?? '(none)'} is not the MD5 of the ${body.byteLength} bytes sent`);
      }
    } catch (error) {
      throw this.translate(error, { key, file: undefined, arrow: '' });
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    let previous: Buffer | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.config.listPageSize }),
        );
      } catch (error) {
        throw this.translate(error, { key: `${prefix}*`, file: undefined, arrow: '' });
      }
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined) continue;
        // S3 lists in strictly increasing UTF-8 byte order; some look-alikes do not, and a page
        // boundary then repeats or skips keys. Better to stop than to convert a frame twice or never.
        const current = Buffer.from(entry.Key);
        if (previous && Buffer.compare(previous, current) >= 0) {
          throw new StoreError(
            'Other',
            `Other: s3://${this.bucket}/${prefix}*: the server listed ${JSON.stringify(entry.Key)} after ${JSON.stringify(previous.toString())}, not in S3's byte order`,
          );
        }
        previous = current;
        yield entry.Key;
      }
      if (!page.IsTruncated) return;
      if (!page.NextContinuationToken) throw new StoreError('Other', `listing s3://${this.bucket}/${prefix}* was cut short: no continuation token`);
      token = page.NextContinuationToken;
    }
  }

  locationOf(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async exists(key: string): Promise<boolean> {
    checkKey(key, this.bucket);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.translate(error, { key, file: undefined, arrow: '' });
    }
  }

  /** Close idle connections; the store is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }

  /** One GET, streamed to a fresh temp file beside the target, checked, then renamed into place. */
  private async downloadOnce(key: string, target: string, signal: AbortSignal | undefined): Promise<void> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), signal ? { abortSignal: signal } : {});
    const body = response.Body as Readable | undefined;
    if (!body) throw new StoreError('Other', `s3://${this.bucket}/${key}: the answer has no body`);
    const temp = tempName(target);
    // Created before any byte flows, so that a failure at any point leaves a file we can remove.
    const handle = await open(temp, 'wx').catch((error: unknown) => {
      body.destroy();
      throw error;
    });
    const meter = new Meter();
    try {
      await pipeline(body, meter, handle.createWriteStream(), { signal }).catch((error: unknown) => {
        throw isLocalFileError(error, temp) || signal?.aborted ? error : new BodyFailure(error);
      });
      this.checkBody(response, meter);
      await rename(temp, target);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Length always; MD5 against the ETag when the server gave no checksum of its own to validate. */
  private checkBody(response: GetObjectCommandOutput, meter: Meter): void {
    if (response.ContentLength !== undefined && response.ContentLength !== meter.bytes) {
      throw new BodyFailure(new IntegrityFailure(`received ${meter.bytes} of ${response.ContentLength} bytes`));
    }
    const sdkValidated = [response.ChecksumCRC32, response.ChecksumCRC32C, response.ChecksumCRC64NVME, response.ChecksumSHA1, response.ChecksumSHA256]
      .some((sum) => sum !== undefined && !sum.includes('-'));
    if (!sdkValidated && !etagMatches(response.ETag, meter.md5(), response)) {
      throw new BodyFailure(new IntegrityFailure(`body MD5 ${meter.md5()} does not match ETag ${response.ETag}`));
    }
  }

  /** Catch servers that store something other than what was sent (e.g. chunk framing inside). */
  private async verifyStored(key: string, size: number, md5: string | undefined, etag: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), signal ? { abortSignal: signal } : {});
    if (head.ContentLength !== size) throw new IntegrityFailure(`stored object has ${head.ContentLength} bytes, sent ${size}`);
    if (md5 !== undefined && !etagMatches(etag ?? head.ETag, md5, head)) {
      throw new IntegrityFailure(`stored ETag ${etag ?? head.ETag} is not the MD5 of the ${size} bytes sent`);
    }
  }

  /** Any failure -> one readable line naming bucket, key and file, with a stable code. */
  private translate(error: unknown, where: { key: string; file: string | undefined; arrow: string }): StoreError {
    if (error instanceof StoreError) return error;
    const place = `s3://${this.bucket}/${where.key}${where.file ? ` ${where.arrow} ${where.file}` : ''}`;
    const fail = (code: StoreErrorCode, detail: string, retryable = false) => {
      const failure = new StoreError(code, `${code}: ${place}: ${detail}`, retryable);
      this.config.logger.debug({ bucket: this.bucket, key: where.key, code }, 'store operation failed');
      return failure;
    };
    if (error instanceof IntegrityFailure) return fail('Integrity', error.message);
    if (where.file && isLocalFileError(error, where.file)) return new StoreError('LocalFile', `LocalFile: ${place}: ${describeError(error)}`);
    const name = (error as { name?: unknown })?.name;
    const code = typeof name === 'string' ? name : '';
    const status = statusOf(error);
    const message = describeError(error);
    if (code === 'NoSuchKey' || (status === 404 && code === 'NotFound')) return fail('NoSuchKey', 'no such key');
    if (code === 'NoSuchBucket') return fail('NoSuchBucket', `no such bucket ${this.bucket}`);
    if (code === 'CredentialsProviderError') {
      return fail('AccessDenied', 'no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role)');
    }
    if (ACCESS_CODES.has(code) || status === 403) return fail('AccessDenied', `${code || 'Forbidden'}: ${message}`);
    if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || status === 301) {
      const home = bucketRegionOf(error);
      const asked = this.config.region ?? 'the configured region';
      return fail('WrongRegion', home ? `bucket is in ${home}, not ${asked} (use --region ${home})` : `bucket is not in ${asked}: ${message}`);
    }
    if (/region is missing/i.test(message)) return fail('Other', 'no AWS region configured (use --region or set AWS_REGION)');
    if (isTransient(error)) return fail('Network', `${code ? `${code}: ` : ''}${message}`, true);
    if (/checksum/i.test(message)) return fail('Integrity', message);
    return fail('Other', `${code && code !== 'Error' ? `${code}: ` : ''}${message}`);
  }
}

const ACCESS_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
]);

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ServiceUnavailable',
  'InternalError',
]);

/** A failure of a response body after the response began: the whole GET is worth repeating. */
class BodyFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(describeError(cause));
  }
}

/** The bytes do not add up: wrong length, or a digest that does not match. */
class IntegrityFailure extends Error {}

/** Counts and hashes what flows through, so integrity is checked without a second read. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('md5');
  private digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  md5(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

function checkKey(key: string, bucket: string): void {
  if (key === '' || Buffer.byteLength(key) > 1024) {
    throw new StoreError('InvalidKey', `InvalidKey: s3://${bucket}/${key}: keys are 1 to 1024 bytes of UTF-8`);
  }
}

function requireInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`S3 option ${field} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

function md5Hex(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

/**
 * Whether `etag` is consistent with a body of this MD5. An ETag is the MD5 only for objects stored
 * in one part without KMS or customer keys; for anything else there is nothing to compare.
 */
function etagMatches(
  etag: string | undefined,
  md5: string,
  meta: { ServerSideEncryption?: string | undefined; SSECustomerAlgorithm?: string | undefined },
): boolean {
  const plain = etag?.replace(/"/g, '').toLowerCase();
  if (!plain || !/^[0-9a-f]{32}$/.test(plain)) return true;
  if (meta.SSECustomerAlgorithm || (meta.ServerSideEncryption && meta.ServerSideEncryption !== 'AES256')) return true;
  return plain === md5;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } })?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function bucketRegionOf(error: unknown): string | undefined {
  const response = (error as { $response?: { headers?: Record<string, string | undefined> } })?.$response;
  const fromHeader = response?.headers?.['x-amz-bucket-region'];
  if (fromHeader) return fromHeader;
  return /expecting '([a-z0-9-]+)'/.exec(describeError(error))?.[1];
}

function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  return TRANSIENT_CODES.has(String(name)) || TRANSIENT_CODES.has(String(code)) || /\baborted\b|socket hang up/i.test(describeError(error));
}

/** Errors of our own file system calls, as opposed to the network's. */
function isLocalFileError(error: unknown, path: string | undefined): boolean {
  const errno = error as NodeJS.ErrnoException;
  if (!errno || typeof errno.syscall !== 'string' || typeof errno.path !== 'string') return false;
  return path === undefined || errno.path === path || errno.path.startsWith(`${path}.xc-partial-`);
}
