/**
 * The Lambda launcher against the fake Lambda on 127.0.0.1: real HTTP, real SigV4 signing, the
 * fixture throttling a seeded share of Invokes. Workers here are "cheap simulated" ones: the
 * fixture records each accepted invocation instead of running a handler.
 */
import http from 'node:http';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../common/errors.js';
import {
  compileLambdaLauncherOptions,
  createLambdaLauncher,
  describeFailure,
  formatLaunchSummary,
  type LambdaLauncherOptions,
} from '../runtime/launch/lambdaLauncher.js';
import { resolveEndpointOverride } from '../runtime/launch/lambdaEndpoint.js';
import type { LaunchReport, LaunchRequest } from '../runtime/launch/launcher.js';
import type { WorkerEvent } from '../worker/event.js';
import { functionCopyNames } from '../runtime/lambda/functionCopies.js';
import { LAMBDA_SCALING_LIMIT, startLambdaFixture, type LambdaFixture } from './support/lambdaFixture.js';
import { WAIT } from './support/wait.js';

const FUNCTION = 'png2y4m-test';
const SECRET = 'fixture-secret-never-to-be-seen';
const credentials = async () => ({ accessKeyId: 'AKIDFIXTURE', secretAccessKey: SECRET });

const EVENT: WorkerEvent = {
  mode: 1,
  addr: '127.0.0.1',
  port: 13579,
  bucket: 'file:/tmp/nowhere',
  region: 'us-east-1',
  cacert: '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----',
  wrkcert: '-----BEGIN CERTIFICATE-----\nworker\n-----END CERTIFICATE-----',
  wrkkey: '-----BEGIN PRIVATE KEY-----\nworker-key\n-----END PRIVATE KEY-----',
  nonblock: 0,
  bg_silent: 0,
  rm_tmpdir: 1,
  hash_s3keys: 0,
};

function requests(count: number, event: WorkerEvent = EVENT): LaunchRequest[] {
  return Array.from({ length: count }, (_, invocation) => ({ invocation, event }));
}

let fixture: LambdaFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  vi.unstubAllEnvs();
});

async function launch(options: Omit<LambdaLauncherOptions, 'functionName'> & { functionName?: string }, batch: LaunchRequest[]) {
  const launcher = createLambdaLauncher({ functionName: FUNCTION, credentials, ...options });
  const reports: LaunchReport[] = [];
  await launcher.launch(batch, (report) => reports.push(report));
  await launcher.stop();
  return { reports, summary: launcher.lastSummary()! };
}

/** Each invocation must be reported exactly once, accepted or failed. */
function byInvocation(reports: LaunchReport[], count: number): Map<number, LaunchReport> {
  const seen = new Map<number, LaunchReport>();
  for (const report of reports) {
    expect(seen.has(report.invocation), `invocation ${report.invocation} reported twice`).toBe(false);
    seen.set(report.invocation, report);
  }
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
  return seen;
}

describe('lambda launcher', () => {
  it('starts every one of 200 workers when half of all Invokes are throttled', async () => {
    fixture = await startLambdaFixture({ mode: 'record', throttleShare: 0.5, seed: 42 });
    fixture.addFunction(FUNCTION);
    const { reports, summary } = await launch(
      { endpoint: fixture.endpoint, concurrency: 32, baseDelayMs: 5, maxDelayMs: 100, deadlineMs: 20_000 },
      requests(200),
    );
    const seen = byInvocation(reports, 200);
    expect([...seen.values()].every((r) => r.type === 'accepted')).toBe(true);
    // Lambda started each worker once: one accepted Event per invocation number.
    const ids = fixture.invocations.map((i) => (i.payload as { id: number }).id).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(fixture.invocations.every((i) => i.invocationType === 'Event')).toBe(true);
    expect(fixture.counts.throttled).toBeGreaterThan(50);
    expect(summary).toMatchObject({ requested: 200, accepted: 200, failed: 0, throttled: fixture.counts.throttled });
    expect(summary.attempts).toBe(fixture.counts.invokeCalls);
    expect(fixture.counts.unsigned).toBe(0);
    expect(formatLaunchSummary(summary)).toMatch(/^launched 200\/200 in .* invocations\/s, skew .*throttled$/);
  });

  it('reports the launches lost to a short deadline, each with its reason', async () => {
    fixture = await startLambdaFixture({ mode: 'record', throttleShare: 0.9, seed: 7 });
    fixture.addFunction(FUNCTION);
    const started = Date.now();
    const { reports, summary } = await launch({ endpoint: fixture.endpoint, baseDelayMs: 20, maxDelayMs: 50, deadlineMs: 200 }, requests(60));
    expect(Date.now() - started).toBeLessThan(10_000); // bounded by the deadline, not hanging
    const seen = byInvocation(reports, 60);
    const failed = [...seen.values()].filter((r) => r.type === 'failed');
    const accepted = [...seen.values()].filter((r) => r.type === 'accepted');
    expect(failed.length).toBeGreaterThan(0);
    expect(accepted.length).toBe(fixture.invocations.length);
    for (const report of failed) {
      expect(report.type === 'failed' && report.reason).toMatch(/launch deadline 0\.2 s.*throttled.*429 TooManyRequestsException: Rate Exceeded/);
    }
    expect(summary.failed).toBe(failed.length);
  });

  it('gives up on every invocation when all are throttled past the deadline', async () => {
    fixture = await startLambdaFixture({ mode: 'record', throttleShare: 1 });
    fixture.addFunction(FUNCTION);
    const { reports } = await launch({ endpoint: fixture.endpoint, baseDelayMs: 10, maxDelayMs: 20, deadlineMs: 100 }, requests(10));
    const seen = byInvocation(reports, 10);
    expect([...seen.values()].every((r) => r.type === 'failed' && /TooManyRequests/.test(r.reason))).toBe(true);
    expect(fixture.invocations).toHaveLength(0);
  });

  it('checks every payload against the asynchronous limit before sending anything', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    fixture.addFunction(FUNCTION);
    const batch = requests(5);
    batch[3] = { invocation: 3, event: { ...EVENT, args: 'x'.repeat(300 * 1024) } };
    const { reports } = await launch({ endpoint: fixture.endpoint }, batch);
    const seen = byInvocation(reports, 5);
    for (const report of seen.values()) {
      expect(report.type === 'failed' && report.reason).toMatch(/invocation 3 is \d+ bytes, over the 262144-byte limit.*nothing was sent/);
    }
    expect(fixture.counts.invokeCalls).toBe(0);
  });

  it('fails at once, without retrying, when the function does not exist', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    const { reports, summary } = await launch({ endpoint: fixture.endpoint, deadlineMs: 30_000 }, requests(4));
    const seen = byInvocation(reports, 4);
    for (const report of seen.values()) {
      expect(report.type === 'failed' && report.reason).toMatch(/^404 ResourceNotFoundException: Function not found/);
    }
    expect(fixture.counts.invokeCalls).toBe(4);
    expect(summary.attempts).toBe(4);
  });

  it('spreads the invocations round-robin over the regions', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    fixture.addFunction(FUNCTION);
    const regions = ['us-east-1', 'eu-west-1', 'ap-south-1'];
    const { reports } = await launch({ endpoint: fixture.endpoint, regions }, requests(9));
    byInvocation(reports, 9);
    for (const call of fixture.invocations) {
      const id = (call.payload as { id: number }).id;
      expect(call.region).toBe(regions[id % 3]);
    }
    expect(fixture.invocations).toHaveLength(9);
  });

  it('spreads the invocations over the copies of the function and the regions', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    const names = ['png2y4m-test-0', 'png2y4m-test-1', 'png2y4m-test-2'];
    const regions = ['us-east-1', 'eu-west-1'];
    for (const name of names) for (const region of regions) fixture.addFunction(name, region);
    const { reports } = await launch({ endpoint: fixture.endpoint, regions, functionCopies: 3 }, requests(12));
    expect([...byInvocation(reports, 12).values()].every((r) => r.type === 'accepted')).toBe(true);
    const seen = fixture.invocations.map((call) => [(call.payload as { id: number }).id, call.region, call.functionName] as const).sort((a, b) => a[0] - b[0]);
    // Invocation k: region k mod 2, copy floor(k / 2) mod 3; every (region, copy) pair twice.
    expect(seen).toEqual(Array.from({ length: 12 }, (_, k) => [k, regions[k % 2], names[Math.floor(k / 2) % 3]]));
  });

  it("starts past one function's scaling limit with copies, where one function alone is refused", async () => {
    // A limit that does not refill within the test: 10 new environments per function, then 429.
    fixture = await startLambdaFixture({ mode: 'record', scaling: { environments: 10, perMs: 3_600_000 } });
    fixture.addFunction(FUNCTION);
    for (let copy = 0; copy < 3; copy++) fixture.addFunction(`${FUNCTION}-${copy}`);
    const fast = { endpoint: fixture.endpoint, baseDelayMs: 5, maxDelayMs: 20, deadlineMs: 300 };
    const alone = byInvocation((await launch(fast, requests(30))).reports, 30);
    expect([...alone.values()].filter((r) => r.type === 'accepted')).toHaveLength(10);
    for (const report of alone.values()) {
      if (report.type === 'failed') expect(report.reason).toMatch(/launch deadline 0\.3 s.*throttled.*429 TooManyRequestsException: Rate Exceeded/);
    }
    expect(fixture.counts.scalingThrottled).toBe(fixture.counts.throttled);
    const throttledAlone = fixture.counts.throttled;
    expect(throttledAlone).toBeGreaterThanOrEqual(20);

    const copies = byInvocation((await launch({ ...fast, functionCopies: 3 }, requests(30))).reports, 30);
    expect([...copies.values()].every((r) => r.type === 'accepted')).toBe(true);
    expect(fixture.counts.throttled).toBe(throttledAlone);
  });

  it('reports a network failure with its cause once the deadline has passed', async () => {
    const port = await closedPort();
    const { reports } = await launch({ endpoint: `http://127.0.0.1:${port}`, baseDelayMs: 10, maxDelayMs: 30, deadlineMs: 150 }, requests(3));
    const seen = byInvocation(reports, 3);
    for (const report of seen.values()) expect(report.type === 'failed' && report.reason).toMatch(/network: ECONNREFUSED/);
  });

  it('abandons attempts that get no answer, and reports them once the deadline has passed', async () => {
    const silent = http.createServer(() => undefined); // reads requests, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const { reports, summary } = await launch(
        { endpoint: `http://127.0.0.1:${port}`, attemptTimeoutMs: 100, baseDelayMs: 10, maxDelayMs: 20, deadlineMs: 400 },
        requests(3),
      );
      for (const report of byInvocation(reports, 3).values()) expect(report.type === 'failed' && report.reason).toMatch(/network: no answer within 100 ms/);
      expect(summary.attempts).toBeGreaterThanOrEqual(6);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('stops mid-launch without hanging, reporting what was not launched', async () => {
    fixture = await startLambdaFixture({ mode: 'record', throttleShare: 1 });
    fixture.addFunction(FUNCTION);
    const launcher = createLambdaLauncher({ functionName: FUNCTION, credentials, endpoint: fixture.endpoint, baseDelayMs: 50, maxDelayMs: 200, deadlineMs: 60_000 });
    const reports: LaunchReport[] = [];
    const launching = launcher.launch(requests(20), (report) => reports.push(report));
    await vi.waitFor(() => expect(fixture!.counts.invokeCalls).toBeGreaterThanOrEqual(20), WAIT);
    await launcher.stop();
    await launching;
    const seen = byInvocation(reports, 20);
    for (const report of seen.values()) expect(report.type === 'failed' && report.reason).toBe('launcher stopped');
  });

  it('fails every invocation with one reason when there are no credentials', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    fixture.addFunction(FUNCTION);
    const noCredentials = async () => {
      throw new Error('Could not load credentials from any providers');
    };
    const { reports } = await launch({ endpoint: fixture.endpoint, credentials: noCredentials }, requests(3));
    for (const report of byInvocation(reports, 3).values()) {
      expect(report.type === 'failed' && report.reason).toBe('no AWS credentials: Could not load credentials from any providers');
    }
    expect(fixture.counts.invokeCalls).toBe(0);
  });

  it('takes credentials from the SDK chain and the endpoint from AWS_ENDPOINT_URL_LAMBDA, and never logs secrets', async () => {
    fixture = await startLambdaFixture({ mode: 'record', throttleShare: 0.5, seed: 3 });
    fixture.addFunction(FUNCTION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENV');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET);
    vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', fixture.endpoint);
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged += chunk.toString('utf8');
        callback();
      },
    });
    const launcher = createLambdaLauncher({ functionName: FUNCTION, logger: pino({ level: 'debug' }, sink), baseDelayMs: 5, maxDelayMs: 20 });
    const reports: LaunchReport[] = [];
    await launcher.launch(requests(10), (report) => reports.push(report));
    await launcher.stop();
    expect([...byInvocation(reports, 10).values()].every((r) => r.type === 'accepted')).toBe(true);
    expect(logged).toContain('invoke retry');
    expect(logged).toContain('lambda launch finished');
    for (const secret of [SECRET, 'AKIDFROMENV', 'worker-key', 'AWS4-HMAC-SHA256']) expect(logged).not.toContain(secret);
    for (const call of fixture.invocations) expect(JSON.stringify(call.payload)).not.toContain(SECRET);
  });
});

describe('lambda launcher options and answers', () => {
  it('refuses bad options at the edge', () => {
    expect(() => compileLambdaLauncherOptions({ functionName: '' })).toThrow(ConfigError);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f', regions: [] })).toThrow(/at least one region/);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f', regions: ['mars'] })).toThrow(/does not look like an AWS region/);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f', concurrency: 0 })).toThrow(/concurrency/);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f', endpoint: 'not a url' })).toThrow(/not a URL/);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f', endpoint: 'ftp://x' })).toThrow(/http/);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f', functionCopies: 0 })).toThrow(/copies must be a whole number from 1 to 100, got 0/);
    expect(() => compileLambdaLauncherOptions({ functionName: 'f:prod', functionCopies: 2 })).toThrow(/copies of "f:prod" cannot be named.*without a version or alias/);
    const compiled = compileLambdaLauncherOptions({ functionName: 'f' }, {});
    expect(compiled).toMatchObject({ functions: ['f'], regions: ['us-east-1'], concurrency: 128, endpoint: undefined, maxPayloadBytes: 262_144 });
    expect(compiled.retry).toMatchObject({ baseDelayMs: 50, maxDelayMs: 2_000, deadlineMs: 60_000 });
  });

  it('names the copies of a function, or of its ARN', () => {
    expect(functionCopyNames('f', 1)).toEqual(['f']);
    expect(functionCopyNames('f:prod', 1)).toEqual(['f:prod']);
    expect(functionCopyNames('png2y4m-1a2b', 2)).toEqual(['png2y4m-1a2b-0', 'png2y4m-1a2b-1']);
    expect(functionCopyNames('arn:aws:lambda:eu-west-1:123456789012:function:f', 2)).toEqual([
      'arn:aws:lambda:eu-west-1:123456789012:function:f-0',
      'arn:aws:lambda:eu-west-1:123456789012:function:f-1',
    ]);
    expect(functionCopyNames('123456789012:function:f', 2)).toEqual(['123456789012:function:f-0', '123456789012:function:f-1']);
    expect(() => functionCopyNames('arn:aws:lambda:eu-west-1:123456789012:function:f:7', 2)).toThrow(/without a version or alias/);
    expect(() => functionCopyNames('f', 1.5)).toThrow(/whole number/);
    expect(() => functionCopyNames('f', 101)).toThrow(/from 1 to 100, got 101/);
  });

  it('finds the endpoint in the standard environment, the option first', () => {
    expect(resolveEndpointOverride(undefined, {})).toBeUndefined();
    expect(resolveEndpointOverride(undefined, { AWS_ENDPOINT_URL: 'http://a:1' })?.href).toBe('http://a:1/');
    expect(resolveEndpointOverride(undefined, { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_LAMBDA: 'http://b:2' })?.href).toBe('http://b:2/');
    expect(resolveEndpointOverride('http://c:3', { AWS_ENDPOINT_URL_LAMBDA: 'http://b:2' })?.href).toBe('http://c:3/');
    expect(resolveEndpointOverride(undefined, { AWS_ENDPOINT_URL_LAMBDA: 'http://b:2', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
  });

  it('retries throttling and server errors only', () => {
    const body = (o: object) => Buffer.from(JSON.stringify(o));
    expect(describeFailure(429, { 'x-amzn-errortype': 'TooManyRequestsException', 'retry-after': '2' }, body({ message: 'Rate Exceeded.' }))).toEqual({
      retryable: true,
      throttled: true,
      reason: '429 TooManyRequestsException: Rate Exceeded.',
      retryAfterMs: 2000,
    });
    expect(describeFailure(503, {}, body({ __type: 'ServiceException', Message: 'busy' }))).toMatchObject({ retryable: true, throttled: false, reason: '503 ServiceException: busy' });
    expect(describeFailure(403, { 'x-amzn-errortype': 'AccessDeniedException:http://internal' }, body({ message: 'no' }))).toMatchObject({
      retryable: false,
      reason: '403 AccessDeniedException: no',
    });
    expect(describeFailure(413, {}, Buffer.from('<html>too big</html>'))).toMatchObject({ retryable: false, reason: '413 HTTP 413: <html>too big</html>' });
  });
});

describe('lambda fixture', () => {
  it('speaks the Invoke API as the SDK expects, and refuses unsigned calls', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    fixture.addFunction(FUNCTION, 'eu-west-1');
    const client = new LambdaClient({ region: 'eu-west-1', endpoint: fixture.endpoint, credentials: await credentials() });
    const answer = await client.send(new InvokeCommand({ FunctionName: FUNCTION, InvocationType: 'Event', Payload: Buffer.from('{"id":5}') }));
    expect(answer.StatusCode).toBe(202);
    await expect(client.send(new InvokeCommand({ FunctionName: 'nope', InvocationType: 'Event', Payload: Buffer.from('{}') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    client.destroy();
    expect(fixture.invocations).toMatchObject([{ functionName: FUNCTION, region: 'eu-west-1', payload: { id: 5 } }]);
    const unsigned = await fetch(`${fixture.endpoint}/2015-03-31/functions/${FUNCTION}/invocations`, { method: 'POST', body: '{}', headers: { 'x-amz-invocation-type': 'Event' } });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
    expect(fixture.counts.unsigned).toBe(1);
    expect(fixture.invocations).toHaveLength(1);
  });

  it("has Lambda's per-function scaling limit by default: 1,000 new execution environments per 10 s", async () => {
    expect(LAMBDA_SCALING_LIMIT).toEqual({ environments: 1_000, perMs: 10_000 });
    fixture = await startLambdaFixture({ mode: 'instant' });
    const started = performance.now();
    const { summary } = await launch({ endpoint: fixture.endpoint, baseDelayMs: 5, maxDelayMs: 10, deadlineMs: 50 }, requests(1_500));
    const elapsedS = (performance.now() - started) / 1000;
    // 1,000 at once, then 100 a second for as long as the launch took.
    expect(summary.accepted).toBeGreaterThanOrEqual(1_000);
    expect(summary.accepted).toBeLessThanOrEqual(1_000 + Math.ceil(100 * elapsedS) + 1);
    expect(fixture.counts.scalingThrottled).toBeGreaterThan(0);
  });

  it('refills each function\'s scaling limit over time, one bucket per function and region, and answers 429 beyond it', async () => {
    // The burst is checked with a bucket that refills too slowly for any delay of a loaded machine
    // to matter (one environment a minute); the refill, with a fast one, by the launcher below.
    fixture = await startLambdaFixture({ mode: 'record', scaling: { environments: 5, perMs: 5 * 60_000 } });
    fixture.addFunction(FUNCTION);
    fixture.addFunction('other');
    const client = new LambdaClient({ region: 'us-east-1', endpoint: fixture.endpoint, credentials: await credentials(), maxAttempts: 1 });
    const invoke = (name: string, id: number, c: LambdaClient = client) => c.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ id })) }));
    try {
      // Five at once are admitted, the sixth is not: Lambda's 429 with its reason.
      for (let id = 0; id < 5; id++) expect((await invoke(FUNCTION, id)).StatusCode).toBe(202);
      await expect(invoke(FUNCTION, 5)).rejects.toMatchObject({ name: 'TooManyRequestsException', Reason: 'FunctionInvocationRateLimitExceeded' });
      expect(fixture.counts).toMatchObject({ throttled: 1, scalingThrottled: 1, accepted: 5 });
      // Another function has its own bucket, and so has the same function in another region.
      expect((await invoke('other', 100)).StatusCode).toBe(202);
      const west = new LambdaClient({ region: 'eu-west-1', endpoint: fixture.endpoint, credentials: await credentials(), maxAttempts: 1 });
      expect((await invoke(FUNCTION, 200, west)).StatusCode).toBe(202);
      west.destroy();
    } finally {
      client.destroy();
    }

    await fixture.close();

    // 45 through the launcher against a bucket of 5 refilled every 250 ms: all admitted in the end,
    // never faster than the bucket allows.
    const limit = { environments: 5, perMs: 250 };
    fixture = await startLambdaFixture({ mode: 'record', scaling: limit });
    fixture.addFunction(FUNCTION);
    const { reports } = await launch({ endpoint: fixture.endpoint, baseDelayMs: 5, maxDelayMs: 20, deadlineMs: 20_000 }, requests(45));
    expect([...byInvocation(reports, 45).values()].every((r) => r.type === 'accepted')).toBe(true);
    expect(fixture.counts.scalingThrottled).toBeGreaterThan(1);
    const at = fixture.invocations.filter((call) => call.functionName === FUNCTION && call.region === 'us-east-1').map((call) => call.at);
    expect(at).toHaveLength(45);
    for (let i = 0; i < at.length; i++) {
      for (let j = i; j < at.length; j++) {
        // Date.now() has 1 ms steps: allow one more admission than the exact bound.
        expect(j - i + 1, `admissions ${i}..${j} in ${at[j]! - at[i]!} ms`).toBeLessThanOrEqual(limit.environments + ((at[j]! - at[i]!) * limit.environments) / limit.perMs + 1);
      }
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
