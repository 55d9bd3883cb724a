/**
 * Lambda launcher: `-n` asynchronous Invokes (InvocationType `Event`) of one function or of its
 * identical copies (`lambdaize --copies`), spread round-robin over the regions and the copies,
 * as fast as one process can send them, and each one either accepted or reported as failed with
 * its reason. Copies exist because Lambda scales each function by at most 1,000 new execution
 * environments per 10 s: 5,000 workers of one function need about 40 s to start however fast
 * they are invoked, and of five copies no more than 1,000 of each.
 *
 * Why not `InvokeCommand` in a loop: through the SDK one process reached ~1,300 Invokes/s at
 * ~1 ms of CPU each, most of it per-call middleware, endpoint resolution, signing and response
 * parsing for an answer that is only a status code. Here every request is built before the
 * first is sent (payload, size check, SHA-256, path, headers), then each is SigV4-signed with the
 * SDK's own signer and written on a keep-alive agent, at most `concurrency` in flight. The SDK
 * still supplies what it is good at: the credential chain and the endpoint rules.
 *
 * Retries are ours: the SDK's retry quota gives up on heavy throttling (429 TooManyRequests) and
 * its adaptive mode stalls. Each invocation is retried on its own, with full-jitter exponential
 * backoff (store/retry.ts), not holding a concurrency slot while it waits, until the launch
 * deadline; then it is reported `failed` with how often and why it was refused. Errors that a
 * retry cannot fix (no such function, access denied, payload too large) fail at once.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { pino, type Logger } from 'pino';
import { quietAwsSdkNodeNotice } from '../../common/awsSdkNotice.js';
import { ConfigError, describeError } from '../../common/errors.js';
import { functionCopyNames } from '../lambda/functionCopies.js';
import { NodeSha256 } from '../lambda/nodeSha256.js';
import { invocationPayload, type Launcher, type LaunchReport, type LaunchRequest } from './launcher.js';
import { resolveEndpointOverride } from './lambdaEndpoint.js';
import { backoffDelay, compileRetry, type RetryPolicy } from '../../store/retry.js';
import { DEFAULT_REGION } from '../../worker/parseEvent.js';

/** Lambda's limit on an asynchronous (Event) invocation's payload. */
export const ASYNC_PAYLOAD_LIMIT_BYTES = 256 * 1024;

export interface LambdaLauncherOptions {
  /** `-l`: the function's name or ARN. Required. */
  functionName: string;
  /**
   * How many identical copies of the function `lambdaize --copies` made: 1 means the function
   * itself, K > 1 its copies `NAME-0` .. `NAME-(K-1)` (functionCopies.ts). Default 1.
   */
  functionCopies?: number;
  /**
   * `-r`: regions. The k-th request goes to region `k % R` and copy `floor(k / R) % K`, so that
   * every (region, copy) pair gets one request in R * K. Default `[DEFAULT_REGION]` (parseEvent.ts).
   */
  regions?: string[];
  /**
   * `--lambda-endpoint`: one endpoint URL for every region (a test fixture, LocalStack). Default:
   * env `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else the SDK's endpoint of each region.
   */
  endpoint?: string;
  /** Invokes in flight at once (also the sockets per endpoint). Default 128. */
  concurrency?: number;
  /** No retry starts once this many ms have passed since the launch began. Default 60 000. */
  deadlineMs?: number;
  /** Cap of the first retry's random delay, doubling per retry. Default 50. */
  baseDelayMs?: number;
  /** Largest delay between two attempts of one invocation. Default 2 000. */
  maxDelayMs?: number;
  /** One attempt that has not been answered after this long is abandoned and retried. Default 10 000. */
  attemptTimeoutMs?: number;
  /** Largest payload sent; checked for every request before any is sent. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** Default: the SDK's standard chain (env, profile, SSO, web identity, container, instance role). */
  credentials?: AwsCredentialIdentityProvider;
  /** Told once per launch() when it is over. */
  onSummary?: (summary: LaunchSummary) => void;
  /** Default: silent. Never given payloads, headers or credentials. */
  logger?: Logger;
  /** Replaceable in tests (the retry jitter). */
  random?: () => number;
}

/** {@link LambdaLauncherOptions} with every field present, compiled once. */
export interface CompiledLambdaLauncherOptions {
  /** The functions invoked: the one named, or its copies. */
  functions: string[];
  regions: string[];
  endpoint: URL | undefined;
  concurrency: number;
  retry: RetryPolicy;
  attemptTimeoutMs: number;
  maxPayloadBytes: number;
  credentials: AwsCredentialIdentityProvider;
  onSummary: ((summary: LaunchSummary) => void) | undefined;
  logger: Logger;
  random: () => number;
}

export const LAMBDA_LAUNCHER_DEFAULTS = {
  regions: [DEFAULT_REGION],
  concurrency: 128,
  deadlineMs: 60_000,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  attemptTimeoutMs: 10_000,
  maxPayloadBytes: ASYNC_PAYLOAD_LIMIT_BYTES,
} as const;

/** What one launch() did, for the coordinator's report and for `bench/launch`. */
export interface LaunchSummary {
  requested: number;
  accepted: number;
  failed: number;
  /** Invoke requests sent, retries included. */
  attempts: number;
  /** 429 answers received. */
  throttled: number;
  /** Building and signing nothing yet: payloads, hashes, headers (ms). */
  buildMs: number;
  /** From the first request sent to the last invocation accepted (ms). */
  elapsedMs: number;
  /** Accepted invocations per second over `elapsedMs`. */
  invocationsPerSecond: number;
  /** First to last accepted (ms): how far apart the workers were started. */
  skewMs: number;
  /** Process CPU (user + system) during the launch, per request sent (ms); includes other work of this process. */
  cpuMsPerAttempt: number;
}

/**
 * Fill in defaults and check every option once, at the edge.
 *
 * @example compileLambdaLauncherOptions({ functionName: 'png2y4m-1a2b', functionCopies: 2, regions: ['us-east-1'] }).functions // ['png2y4m-1a2b-0', 'png2y4m-1a2b-1']
 */
export function compileLambdaLauncherOptions(options: LambdaLauncherOptions, env: NodeJS.ProcessEnv = process.env): CompiledLambdaLauncherOptions {
  const d = LAMBDA_LAUNCHER_DEFAULTS;
  if (!options.functionName || !/^[a-zA-Z0-9_:.$-]{1,170}$/.test(options.functionName)) {
    throw new ConfigError(`-l needs a Lambda function name or ARN, got ${JSON.stringify(options.functionName)}`);
  }
  const regions = options.regions ?? [...d.regions];
  if (regions.length === 0) throw new ConfigError('-r needs at least one region');
  for (const region of regions) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new ConfigError(`-r: ${JSON.stringify(region)} does not look like an AWS region (e.g. us-east-1)`);
  }
  const concurrency = options.concurrency ?? d.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
    throw new ConfigError(`launch concurrency must be a whole number from 1 to 10000, got ${concurrency}`);
  }
  const attemptTimeoutMs = options.attemptTimeoutMs ?? d.attemptTimeoutMs;
  if (!(attemptTimeoutMs > 0)) throw new ConfigError(`attempt timeout must be > 0 ms, got ${attemptTimeoutMs}`);
  const maxPayloadBytes = options.maxPayloadBytes ?? d.maxPayloadBytes;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) throw new ConfigError(`payload limit must be a positive whole number of bytes, got ${maxPayloadBytes}`);
  return {
    functions: functionCopyNames(options.functionName, options.functionCopies ?? 1),
    regions,
    endpoint: resolveEndpointOverride(options.endpoint, env),
    concurrency,
    // The launcher is bounded by its deadline, not by a number of attempts (see the module comment).
    retry: compileRetry({
      attempts: 1,
      baseDelayMs: options.baseDelayMs ?? d.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? d.maxDelayMs,
      deadlineMs: options.deadlineMs ?? d.deadlineMs,
    }),
    attemptTimeoutMs,
    maxPayloadBytes,
    credentials: options.credentials ?? defaultProvider(),
    onSummary: options.onSummary,
    logger: options.logger ?? pino({ level: 'silent' }),
    random: options.random ?? Math.random,
  };
}

/** The SDK's endpoint for `region` (standard, China and GovCloud partitions alike). */
function sdkEndpoint(region: string): URL {
  const client = new LambdaClient({ region });
  try {
    return new URL(client.config.endpointProvider({ Region: region, UseFIPS: false, UseDualStack: false }).url.href);
  } finally {
    client.destroy();
  }
}

/** A Lambda launcher also tells what its last launch did. */
export interface LambdaLauncher extends Launcher {
  lastSummary(): LaunchSummary | undefined;
}

/**
 * @example
 * const launcher = createLambdaLauncher({ functionName: 'png2y4m-1a2b', regions: ['us-east-1'] });
 * await launcher.launch(requests, (report) => log.info(report));
 * console.error(formatLaunchSummary(launcher.lastSummary()!));
 */
export function createLambdaLauncher(options: LambdaLauncherOptions): LambdaLauncher {
  return new LambdaInvoker(compileLambdaLauncherOptions(options));
}

/** One line for humans: `launched 200/200 in 0.41 s (488 invocations/s, skew 0.40 s), 391 requests, 191 throttled`. */
export function formatLaunchSummary(s: LaunchSummary): string {
  const failed = s.failed > 0 ? `, ${s.failed} FAILED` : '';
  return (
    `launched ${s.accepted}/${s.requested} in ${(s.elapsedMs / 1000).toFixed(2)} s ` +
    `(${Math.round(s.invocationsPerSecond)} invocations/s, skew ${(s.skewMs / 1000).toFixed(2)} s), ` +
    `${s.attempts} requests, ${s.throttled} throttled${failed}`
  );
}

/** Retry-worthy failure of one attempt; `retryAfterMs` is the server's own hint, when given. */
interface AttemptFailure {
  retryable: boolean;
  reason: string;
  throttled: boolean;
  retryAfterMs?: number;
}

interface Job {
  invocation: number;
  region: string;
  functionName: string;
  target: Target;
  body: Buffer;
  /** Hex SHA-256 of the body, sent as x-amz-content-sha256 so that signing never rehashes it. */
  bodyHash: string;
  attempts: number;
  throttles: number;
  lastReason: string;
}

interface Target {
  url: URL;
  agent: http.Agent;
  signer: SignatureV4;
  path: string;
}

/** A batch: the requests of one launch() call and its progress. */
interface Batch {
  pending: number;
  /** Jobs ready to be sent, from `head` on (retries are appended). */
  queue: Job[];
  head: number;
  inFlight: number;
  report: (report: LaunchReport) => void;
  startedAt: number;
  firstAccepted: number | undefined;
  lastAccepted: number | undefined;
  summary: LaunchSummary;
  done: () => void;
  settled: boolean;
  /** Resolves when every job of the batch has been reported. */
  finished: Promise<void>;
}

class LambdaInvoker implements LambdaLauncher {
  private stopped = false;
  private readonly agents = new Map<string, http.Agent>();
  private readonly signers = new Map<string, SignatureV4>();
  /** Jobs waiting out a backoff delay, by their timer. */
  private readonly waiting = new Map<NodeJS.Timeout, { batch: Batch; job: Job }>();
  /** Requests in flight and when each was sent; swept for attempt timeouts. */
  private readonly requests = new Map<http.ClientRequest, number>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly batches = new Set<Batch>();
  private summary: LaunchSummary | undefined;
  private readonly credentials: AwsCredentialIdentityProvider;

  constructor(private readonly options: CompiledLambdaLauncherOptions) {
    // Before the credential chain and the endpoint rules make any SDK client.
    quietAwsSdkNodeNotice();
    // Resolved once and shared by every signer; re-resolved only when they expire.
    this.credentials = memoizeCredentials(options.credentials);
  }

  lastSummary(): LaunchSummary | undefined {
    return this.summary;
  }

  async launch(requests: LaunchRequest[], report: (report: LaunchReport) => void): Promise<void> {
    const { logger } = this.options;
    const cpuStart = process.cpuUsage();
    const buildStart = performance.now();
    const summary: LaunchSummary = {
      requested: requests.length,
      accepted: 0,
      failed: 0,
      attempts: 0,
      throttled: 0,
      buildMs: 0,
      elapsedMs: 0,
      invocationsPerSecond: 0,
      skewMs: 0,
      cpuMsPerAttempt: 0,
    };
    const failAll = (reason: (invocation: number) => string) => {
      for (const { invocation } of requests) report({ type: 'failed', invocation, reason: reason(invocation) });
      summary.failed = requests.length;
      this.finish(summary);
    };
    if (requests.length === 0) return this.finish(summary);
    if (this.stopped) return failAll(() => 'launcher stopped');

    // Everything is built, and every payload checked, before the first request goes out.
    let jobs: Job[];
    try {
      jobs = this.build(requests);
    } catch (error) {
      const reason = describeError(error);
      logger.error({ reason }, 'launch not attempted');
      return failAll(() => reason);
    }
    const oversize = jobs.filter((job) => job.body.byteLength > this.options.maxPayloadBytes);
    if (oversize.length > 0) {
      const first = oversize[0]!;
      const reason = `payload of invocation ${first.invocation} is ${first.body.byteLength} bytes, over the ${this.options.maxPayloadBytes}-byte limit of asynchronous Lambda invocations; nothing was sent`;
      logger.error({ oversize: oversize.length }, 'launch refused: payload too large');
      return failAll(() => reason);
    }
    try {
      // Fail fast, with one reason for all, when the credential chain finds nothing.
      await this.credentials();
    } catch (error) {
      const reason = `no AWS credentials: ${describeError(error)}`;
      logger.error({ reason }, 'launch not attempted');
      return failAll(() => reason);
    }
    summary.buildMs = performance.now() - buildStart;

    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const batch: Batch = {
      pending: jobs.length,
      queue: jobs,
      head: 0,
      inFlight: 0,
      report,
      startedAt: performance.now(),
      firstAccepted: undefined,
      lastAccepted: undefined,
      summary,
      settled: false,
      done,
      finished,
    };
    this.batches.add(batch);
    this.startSweeper();
    this.pump(batch);
    await finished;
    if (this.batches.size === 0) this.stopSweeper();
    const cpu = process.cpuUsage(cpuStart);
    summary.cpuMsPerAttempt = summary.attempts === 0 ? 0 : (cpu.user + cpu.system) / 1000 / summary.attempts;
    this.finish(summary);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const batches = [...this.batches];
    for (const [timer, { batch, job }] of this.waiting) {
      clearTimeout(timer);
      this.fail(batch, job, 'launcher stopped');
    }
    this.waiting.clear();
    for (const batch of batches) {
      const queued = batch.queue.slice(batch.head);
      batch.queue = [];
      batch.head = 0;
      for (const job of queued) this.fail(batch, job, 'launcher stopped');
    }
    // In-flight requests end in their error handlers, which report them as stopped.
    for (const request of this.requests.keys()) request.destroy();
    await Promise.all(batches.map((batch) => batch.finished));
    this.stopSweeper();
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /**
   * One timer for all attempt timeouts: a timer per request costs more CPU than the request's own
   * signing at thousands per second, and a timeout only needs to be noticed, not be exact.
   */
  private startSweeper(): void {
    if (this.sweeper) return;
    const { attemptTimeoutMs } = this.options;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const [request, sentAt] of this.requests) {
        if (now - sentAt > attemptTimeoutMs) request.destroy(new Error(`no answer within ${attemptTimeoutMs} ms`));
      }
    }, Math.max(10, Math.min(1_000, attemptTimeoutMs / 4)));
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private finish(summary: LaunchSummary): void {
    this.summary = summary;
    this.options.onSummary?.(summary);
    const level = summary.failed > 0 ? 'warn' : 'info';
    this.options.logger[level]({ ...summary }, 'lambda launch finished');
  }

  private build(requests: LaunchRequest[]): Job[] {
    const { regions, functions } = this.options;
    const urls = new Map<string, URL>();
    const targets = new Map<string, Target>();
    return requests.map((request, index) => {
      const region = regions[index % regions.length]!;
      const functionName = functions[Math.floor(index / regions.length) % functions.length]!;
      const key = `${region}\0${functionName}`;
      let target = targets.get(key);
      if (!target) {
        let url = urls.get(region);
        if (!url) {
          url = this.options.endpoint ?? sdkEndpoint(region);
          urls.set(region, url);
        }
        const path = `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
        target = { url, agent: this.agentFor(url), signer: this.signerFor(region), path: joinPath(url.pathname, path) };
        targets.set(key, target);
      }
      const body = Buffer.from(invocationPayload(request), 'utf8');
      return {
        invocation: request.invocation,
        region,
        functionName,
        target,
        body,
        bodyHash: createHash('sha256').update(body).digest('hex'),
        attempts: 0,
        throttles: 0,
        lastReason: '',
      };
    });
  }

  private agentFor(url: URL): http.Agent {
    const key = url.protocol;
    let agent = this.agents.get(key);
    if (!agent) {
      const settings = { keepAlive: true, maxSockets: this.options.concurrency, scheduling: 'lifo' as const };
      agent = url.protocol === 'https:' ? new https.Agent(settings) : new http.Agent(settings);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private signerFor(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (!signer) {
      signer = new SignatureV4({ service: 'lambda', region, credentials: this.credentials, sha256: NodeSha256, uriEscapePath: true });
      this.signers.set(region, signer);
    }
    return signer;
  }

  /** Start queued jobs while slots are free; a batch settles when every job has been reported. */
  private pump(batch: Batch): void {
    while (!this.stopped && batch.inFlight < this.options.concurrency && batch.head < batch.queue.length) {
      const job = batch.queue[batch.head++]!;
      if (batch.head > 1024 && batch.head * 2 > batch.queue.length) {
        batch.queue = batch.queue.slice(batch.head);
        batch.head = 0;
      }
      batch.inFlight++;
      this.attempt(batch, job).then(
        (failure) => {
          batch.inFlight--;
          if (failure === undefined) this.accept(batch, job);
          else this.retryOrFail(batch, job, failure);
          this.pump(batch);
        },
        (error: unknown) => {
          batch.inFlight--;
          this.fail(batch, job, `internal error: ${describeError(error)}`);
          this.pump(batch);
        },
      );
    }
  }

  /** One signed Invoke; resolves undefined when Lambda accepted it (202), else with why not. */
  private async attempt(batch: Batch, job: Job): Promise<AttemptFailure | undefined> {
    const { url, signer, agent, path } = job.target;
    job.attempts++;
    batch.summary.attempts++;
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/octet-stream',
        'x-amz-invocation-type': 'Event',
        'x-amz-content-sha256': job.bodyHash,
      },
      body: job.body,
    });
    if (this.stopped) return { retryable: false, throttled: false, reason: 'launcher stopped' };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<AttemptFailure | undefined>((resolve) => {
      const request = transport.request({
        agent,
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        path,
        headers: { ...signed.headers, 'content-length': job.body.byteLength },
      });
      this.requests.set(request, performance.now());
      let settled = false;
      const settle = (failure: AttemptFailure | undefined) => {
        if (settled) return;
        settled = true;
        this.requests.delete(request);
        resolve(failure);
      };
      request.on('error', (error: Error & { code?: string }) => {
        settle({ retryable: !this.stopped, throttled: false, reason: this.stopped ? 'launcher stopped' : `network: ${error.code ?? describeError(error)}` });
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (status === 202) {
          response.resume();
          response.on('end', () => settle(undefined));
          response.on('error', () => settle(undefined));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          // An error body is small; anything beyond a few KB is not worth keeping.
          if (size < 4096) chunks.push(chunk);
          size += chunk.byteLength;
        });
        response.on('error', (error) => settle({ retryable: true, throttled: false, reason: `network: ${describeError(error)}` }));
        response.on('end', () => settle(describeFailure(status, response.headers, Buffer.concat(chunks))));
      });
      request.end(job.body);
    });
  }

  private accept(batch: Batch, job: Job): void {
    const now = performance.now();
    batch.firstAccepted ??= now;
    batch.lastAccepted = now;
    batch.summary.accepted++;
    const elapsed = now - batch.startedAt;
    batch.summary.elapsedMs = elapsed;
    batch.summary.skewMs = now - batch.firstAccepted;
    batch.summary.invocationsPerSecond = elapsed > 0 ? (batch.summary.accepted * 1000) / elapsed : 0;
    batch.report({ type: 'accepted', invocation: job.invocation });
    this.settleOne(batch);
  }

  private retryOrFail(batch: Batch, job: Job, failure: AttemptFailure): void {
    job.lastReason = failure.reason;
    if (failure.throttled) {
      job.throttles++;
      batch.summary.throttled++;
    }
    if (!failure.retryable || this.stopped) return this.fail(batch, job, failure.reason);
    const { retry } = this.options;
    const delay = Math.min(retry.maxDelayMs, Math.max(backoffDelay(retry, job.attempts, this.options.random), failure.retryAfterMs ?? 0));
    const elapsed = performance.now() - batch.startedAt;
    if (elapsed + delay > retry.deadlineMs) {
      const throttles = job.throttles > 0 ? `, ${job.throttles} of them throttled` : '';
      return this.fail(
        batch,
        job,
        `not accepted after ${job.attempts} attempt(s) in ${(elapsed / 1000).toFixed(1)} s (launch deadline ${(retry.deadlineMs / 1000).toFixed(1)} s${throttles}); last: ${failure.reason}`,
      );
    }
    this.options.logger.debug({ invocation: job.invocation, attempt: job.attempts, delay, reason: failure.reason }, 'invoke retry');
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      batch.queue.push(job);
      this.pump(batch);
    }, delay);
    this.waiting.set(timer, { batch, job });
  }

  private fail(batch: Batch, job: Job, reason: string): void {
    batch.summary.failed++;
    this.options.logger.warn({ invocation: job.invocation, region: job.region, function: job.functionName, reason }, 'invocation not launched');
    batch.report({ type: 'failed', invocation: job.invocation, reason });
    this.settleOne(batch);
  }

  private settleOne(batch: Batch): void {
    batch.pending--;
    if (batch.pending === 0) this.settle(batch);
  }

  private settle(batch: Batch): void {
    if (batch.settled) return;
    batch.settled = true;
    this.batches.delete(batch);
    batch.done();
  }
}

/**
 * Turn a non-202 answer into a reason. Lambda names its error in `x-amzn-ErrorType` (and the body);
 * only throttling, server errors and timeouts are worth another attempt.
 */
export function describeFailure(status: number, headers: http.IncomingHttpHeaders, body: Buffer): AttemptFailure {
  const headerType = String(headers['x-amzn-errortype'] ?? '').split(':')[0];
  let message = '';
  let bodyType = '';
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    message = String(parsed.message ?? parsed.Message ?? '');
    bodyType = String(parsed.__type ?? parsed.code ?? parsed.Type ?? '');
  } catch {
    message = body.toString('utf8').slice(0, 200);
  }
  const type = headerType || bodyType || `HTTP ${status}`;
  const reason = `${status} ${type}${message ? `: ${message.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
  const throttled = status === 429 || type === 'TooManyRequestsException' || type === 'ThrottlingException';
  const retryAfterS = Number(headers['retry-after']);
  return {
    retryable: throttled || status >= 500 || status === 408,
    throttled,
    reason,
    ...(Number.isFinite(retryAfterS) && retryAfterS > 0 ? { retryAfterMs: retryAfterS * 1000 } : {}),
  };
}

function joinPath(base: string, path: string): string {
  return base === '/' || base === '' ? path : `${base.replace(/\/$/, '')}${path}`;
}

/** Resolve credentials once; resolve again only when they are about to expire (5 min before). */
function memoizeCredentials(provider: AwsCredentialIdentityProvider): () => Promise<AwsCredentialIdentity> {
  let current: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    if (current) {
      const credentials = await current.catch(() => undefined);
      const expiration = credentials?.expiration?.getTime();
      if (credentials && (expiration === undefined || expiration - Date.now() > 5 * 60_000)) return credentials;
    }
    current = provider();
    return current;
  };
}
