/**
 * bench/launch: how fast one process can start Lambda workers. Run by hand: `npm run bench:launch`
 * (optional arguments: counts, e.g. `npm run bench:launch -- 1000 5000 20000`, and `--client sdk|baseline|xc`
 * to run one client only, e.g. under `node --cpu-prof`; `--scaling` for the second part only).
 *
 * The fake Lambda runs in a child process in `instant` mode (202 at once, body not parsed), so
 * the CPU measured here is the client's alone.
 *
 * Part 1, clients, against a fake Lambda without scaling limit. Three clients send the same
 * Invoke requests (same payload, same concurrency, keep-alive sockets), in the same run:
 *   - sdk:      `LambdaClient.send(new InvokeCommand(...))`, maxAttempts 1, keep-alive agent;
 *   - baseline: plain `node:http` with SigV4 from `@smithy/signature-v4`, signed as sent;
 *   - xc-orch:  `createLambdaLauncher` (runtime/launch/lambdaLauncher.ts).
 * Reported per client: invocations/s, skew (first to last accepted), client CPU per invocation.
 *
 * Part 2, Lambda's per-function scaling limit (1,000 new execution environments per 10 s, the
 * fixture's default): the time for 5,000 workers to start through the launcher with one function
 * (the baseline) and with 5 copies of it, each against a fresh fake Lambda.
 * Figures go to BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { createLambdaLauncher } from '../runtime/launch/lambdaLauncher.js';
import { NodeSha256 } from '../runtime/lambda/nodeSha256.js';
import { invocationPayload, type LaunchRequest } from '../runtime/launch/launcher.js';
import type { WorkerEvent } from '../worker/event.js';
import { LAMBDA_SCALING_LIMIT, startLambdaFixture, type ScalingLimit } from '../test/support/lambdaFixture.js';

const FUNCTION = 'bench';
const REGION = 'us-east-1';
const CONCURRENCY = 128;
const credentials = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' };

interface Result {
  client: string;
  count: number;
  ok: number;
  perSecond: number;
  skewMs: number;
  cpuMsPerInvocation: number;
}

/** A payload of realistic size: the per-run certificates and key make up most of it. */
function event(): WorkerEvent {
  const pem = (label: string, bytes: number) => `-----BEGIN ${label}-----\n${'A'.repeat(bytes)}\n-----END ${label}-----\n`;
  return {
    mode: 1,
    addr: '203.0.113.5',
    port: 13579,
    bucket: 'xc-orch-bench',
    region: REGION,
    cacert: pem('CERTIFICATE', 700),
    wrkcert: pem('CERTIFICATE', 700),
    wrkkey: pem('PRIVATE KEY', 250),
    srvname: 'xc-orch-coordinator',
    command: 'png2y4m -i -d -o ##OUTFILE## ##INFILE##',
    nonblock: 0,
    bg_silent: 0,
    rm_tmpdir: 1,
    hash_s3keys: 0,
  };
}

async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Time a client: `send` resolves true when one invocation was accepted. */
async function measure(client: string, requests: LaunchRequest[], send: (request: LaunchRequest) => Promise<boolean>): Promise<Result> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let first: number | undefined;
  let last = start;
  let ok = 0;
  await pool(requests, CONCURRENCY, async (request) => {
    if (await send(request)) {
      last = performance.now();
      first ??= last;
      ok++;
    }
  });
  const used = process.cpuUsage(cpu);
  return {
    client,
    count: requests.length,
    ok,
    perSecond: (ok * 1000) / (last - start),
    skewMs: last - (first ?? last),
    cpuMsPerInvocation: (used.user + used.system) / 1000 / requests.length,
  };
}

async function runSdk(endpoint: string, requests: LaunchRequest[]): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const client = new LambdaClient({ region: REGION, endpoint, credentials, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpAgent: agent }) });
  const result = await measure('sdk InvokeCommand', requests, async (request) => {
    const answer = await client.send(new InvokeCommand({ FunctionName: FUNCTION, InvocationType: 'Event', Payload: Buffer.from(invocationPayload(request)) }));
    return answer.StatusCode === 202;
  });
  client.destroy();
  agent.destroy();
  return result;
}

async function runBaseline(endpoint: string, requests: LaunchRequest[]): Promise<Result> {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const signer = new SignatureV4({ service: 'lambda', region: REGION, credentials, sha256: NodeSha256 });
  const path = `/2015-03-31/functions/${FUNCTION}/invocations`;
  const result = await measure('baseline http+SigV4', requests, async (request) => {
    const body = Buffer.from(invocationPayload(request));
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query: {},
      headers: { host: url.host, 'x-amz-invocation-type': 'Event', 'content-type': 'application/octet-stream' },
      body,
    });
    return new Promise<boolean>((resolve) => {
      const req = http.request({ agent, method: 'POST', hostname: url.hostname, port: url.port, path, headers: { ...signed.headers, 'content-length': body.byteLength } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 202));
      });
      req.on('error', () => resolve(false));
      req.end(body);
    });
  });
  agent.destroy();
  return result;
}

async function runOurs(endpoint: string, requests: LaunchRequest[]): Promise<Result> {
  const launcher = createLambdaLauncher({ functionName: FUNCTION, regions: [REGION], endpoint, concurrency: CONCURRENCY, credentials: async () => credentials });
  const cpu = process.cpuUsage();
  let ok = 0;
  await launcher.launch(requests, (report) => {
    if (report.type === 'accepted') ok++;
  });
  const used = process.cpuUsage(cpu);
  await launcher.stop();
  const summary = launcher.lastSummary()!;
  return {
    client: 'xc-orch launcher',
    count: requests.length,
    ok,
    perSecond: summary.invocationsPerSecond,
    skewMs: summary.skewMs,
    cpuMsPerInvocation: (used.user + used.system) / 1000 / requests.length,
  };
}

/** The fixture in its own process, so that its CPU is not counted as the client's. */
async function startFixtureProcess(scaling: ScalingLimit | false): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-fixture', JSON.stringify(scaling)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  return { endpoint, stop: () => child.kill() };
}

interface ScalingResult {
  copies: number;
  count: number;
  ok: number;
  startS: number;
  attempts: number;
  throttled: number;
  /** What the limit allows at best: all at once up to 1,000 per copy, then 100/s per copy. */
  boundS: number;
}

/** Time for `count` workers to start through the launcher over `copies` functions, against a fresh limited fake Lambda. */
async function runScaling(count: number, copies: number): Promise<ScalingResult> {
  const fixture = await startFixtureProcess(LAMBDA_SCALING_LIMIT);
  try {
    const launcher = createLambdaLauncher({
      functionName: FUNCTION,
      functionCopies: copies,
      regions: [REGION],
      endpoint: fixture.endpoint,
      concurrency: CONCURRENCY,
      credentials: async () => credentials,
      deadlineMs: 120_000,
    });
    let ok = 0;
    const requests = Array.from({ length: count }, (_, invocation) => ({ invocation, event: event() }));
    await launcher.launch(requests, (report) => {
      if (report.type === 'accepted') ok++;
    });
    await launcher.stop();
    const summary = launcher.lastSummary()!;
    const { environments, perMs } = LAMBDA_SCALING_LIMIT;
    const boundS = Math.max(0, count - copies * environments) / ((copies * environments) / perMs) / 1000;
    return { copies, count, ok, startS: summary.elapsedMs / 1000, attempts: summary.attempts, throttled: summary.throttled, boundS };
  } finally {
    fixture.stop();
  }
}

async function scalingPart(): Promise<void> {
  const count = 5000;
  const rows = [await runScaling(count, 1), await runScaling(count, 5)];
  const baseline = rows[0]!.startS;
  process.stdout.write(
    `\nLambda's scaling limit in the fake Lambda: ${LAMBDA_SCALING_LIMIT.environments} new execution environments per ${LAMBDA_SCALING_LIMIT.perMs / 1000} s per function\n\n`,
  );
  process.stdout.write('| workers | functions | started | time to start all (s) | vs 1 function | bound of the limit (s) | requests | throttled |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (const row of rows) {
    process.stdout.write(
      `| ${row.count} | ${row.copies} | ${row.ok} | ${row.startS.toFixed(2)} | ${(row.startS / baseline).toFixed(3)}x | ${row.boundS.toFixed(1)} | ${row.attempts} | ${row.throttled} |\n`,
    );
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve-fixture')) {
    const scaling = JSON.parse(process.argv[process.argv.indexOf('--serve-fixture') + 1]!) as ScalingLimit | false;
    const fixture = await startLambdaFixture({ mode: 'instant', scaling });
    process.stdout.write(`${fixture.endpoint}\n`);
    return;
  }
  const args = process.argv.slice(2);
  process.stdout.write(`node ${process.version}, ${os.availableParallelism()} CPUs, concurrency ${CONCURRENCY}, fake Lambda in a separate process (instant 202)\n`);
  if (args.includes('--scaling')) return scalingPart();
  const only = args.includes('--client') ? args[args.indexOf('--client') + 1] : undefined;
  const counts = args.map(Number).filter((n) => n > 0);
  const sizes = counts.length > 0 ? counts : [1000, 5000];
  const fixture = await startFixtureProcess(false);
  const named = { sdk: runSdk, baseline: runBaseline, xc: runOurs } as const;
  const clients = only ? [named[only as keyof typeof named]] : Object.values(named);
  if (clients.some((client) => client === undefined)) throw new Error(`--client must be one of ${Object.keys(named).join(', ')}`);
  const requestsFor = (n: number) => Array.from({ length: n }, (_, invocation) => ({ invocation, event: event() }));
  // Warm-up: JIT, sockets, credential and endpoint caches.
  for (const client of clients) await client(fixture.endpoint, requestsFor(500));
  const rows: Result[] = [];
  for (const size of sizes) {
    for (const client of clients) rows.push(await client(fixture.endpoint, requestsFor(size)));
  }
  fixture.stop();
  const payload = Buffer.byteLength(invocationPayload({ invocation: 0, event: event() }));
  process.stdout.write(`\nClients, no scaling limit, payload ${payload} bytes\n\n`);
  process.stdout.write('| invocations | client | accepted | invocations/s | skew (ms) | client CPU per invocation (ms) |\n|---:|---|---:|---:|---:|---:|\n');
  for (const row of rows) {
    process.stdout.write(`| ${row.count} | ${row.client} | ${row.ok} | ${Math.round(row.perSecond)} | ${Math.round(row.skewMs)} | ${row.cpuMsPerInvocation.toFixed(3)} |\n`);
  }
  if (!only) await scalingPart();
}

await main();
