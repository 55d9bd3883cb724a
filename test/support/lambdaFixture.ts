/**
 * A fake AWS Lambda on 127.0.0.1: the parts of the Lambda HTTP API that xc-orch calls
 * (CreateFunction, GetFunction, Invoke with `X-Amz-Invocation-Type: Event`), answered the way
 * Lambda answers them (status codes, `x-amzn-ErrorType`, JSON shapes), so that the real SDK and
 * the real launcher can be pointed at it with an endpoint URL.
 *
 * What an accepted invocation does is chosen per fixture: `run` unpacks the function's zip (at
 * CreateFunction) and runs its `index.handler` in a child process with the payload, as Lambda
 * would; `record` keeps the payload only (cheap simulated workers); `instant` answers 202 without
 * even parsing the body (benchmarks). Two kinds of 429 TooManyRequestsException: Lambda's
 * per-function scaling limit (1,000 new execution environments per 10 s, a token bucket per
 * function and region, each accepted Event taking one), and a share of Invokes throttled at
 * random, from a seeded generator so that runs are repeatable.
 *
 * @example
 * const lambda = await startLambdaFixture({ mode: 'record', throttleShare: 0.5 });
 * // ... LambdaClient({ endpoint: lambda.endpoint }) ...
 * await lambda.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import yauzl from 'yauzl';
import { mulberry32 } from './mulberry32.js';

export type FixtureMode = 'run' | 'record' | 'instant';

export interface LambdaFixtureOptions {
  /** What an accepted Event invocation does (see the module comment). Default `record`. */
  mode?: FixtureMode;
  /** Share of Invoke calls answered 429 TooManyRequestsException, 0 to 1. Default 0. */
  throttleShare?: number;
  /**
   * Lambda's per-function scaling limit: at most `environments` new execution environments per
   * `perMs` for each function in each region, refilled continuously, each accepted invocation
   * using one; beyond it, 429. `false`: no limit. Default {@link LAMBDA_SCALING_LIMIT}.
   */
  scaling?: ScalingLimit | false;
  /**
   * Share of accepted Event invocations delivered twice (`run` mode: a second handler run with the
   * same payload, a little later), as Lambda's at-least-once delivery may. 0 to 1. Default 0.
   */
  duplicateShare?: number;
  /** Seed of the throttling and duplicate draws. Default 1. */
  seed?: number;
  /** A created function stays `Pending` this long before GetFunction reports it `Active`. Default 0. */
  activationDelayMs?: number;
  /** Extra environment for handler processes (`run` mode), on top of a Lambda-like one. */
  handlerEnv?: Record<string, string>;
  /** Told of every accepted invocation (not in `instant` mode), e.g. to simulate a worker. */
  onInvoke?: (invocation: RecordedInvocation) => void;
}

/** A rate of new execution environments: `environments` per `perMs`, with that many at once. */
export interface ScalingLimit {
  environments: number;
  perMs: number;
}

/** What AWS documents for every function: 1,000 new execution environments per 10 s. */
export const LAMBDA_SCALING_LIMIT: ScalingLimit = { environments: 1_000, perMs: 10_000 };

export interface FixtureFunction {
  name: string;
  region: string;
  configuration: FunctionConfiguration;
  /** Folder the zip was unpacked into (undefined for functions added without code). */
  taskRoot?: string;
  createdAt: number;
}

export interface FunctionConfiguration {
  FunctionName: string;
  FunctionArn: string;
  Runtime?: string;
  Role: string;
  Handler?: string;
  CodeSize: number;
  CodeSha256: string;
  Description: string;
  Timeout: number;
  MemorySize: number;
  LastModified: string;
  Version: string;
  Environment?: { Variables: Record<string, string> };
  PackageType: 'Zip';
  Architectures: string[];
  State: 'Pending' | 'Active';
  StateReasonCode?: string;
  LastUpdateStatus: 'Successful';
}

export interface RecordedInvocation {
  functionName: string;
  /** Region from the SigV4 credential scope of the request. */
  region: string;
  invocationType: string;
  payload: unknown;
  payloadBytes: number;
  at: number;
}

export interface HandlerRun {
  functionName: string;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface FixtureCounts {
  /** Every request to the Invoke route, throttled or not. */
  invokeCalls: number;
  /** Every 429, of both kinds. */
  throttled: number;
  /** The 429s of the scaling limit alone. */
  scalingThrottled: number;
  accepted: number;
  /** Accepted invocations delivered a second time (`duplicateShare`). */
  duplicated: number;
  /** Requests refused for a missing or malformed SigV4 Authorization header. */
  unsigned: number;
  createCalls: number;
  getCalls: number;
}

export interface LambdaFixture {
  /** `http://127.0.0.1:PORT`, for `endpoint` / `--lambda-endpoint` / `AWS_ENDPOINT_URL_LAMBDA`. */
  endpoint: string;
  functions: Map<string, FixtureFunction>;
  invocations: RecordedInvocation[];
  runs: HandlerRun[];
  counts: FixtureCounts;
  setThrottleShare(share: number): void;
  /** Register a function without code (for `record` / `instant` modes). */
  addFunction(name: string, region?: string): void;
  /** Resolves when `count` handler processes have ended (rejects after timeoutMs). */
  waitForRuns(count: number, timeoutMs?: number): Promise<HandlerRun[]>;
  close(): Promise<void>;
}

/** Lambda's limits the fixture enforces, as Lambda does. */
const MAX_EVENT_PAYLOAD_BYTES = 256 * 1024;
const MAX_UNZIPPED_BYTES = 250 * 1024 * 1024;
const ACCOUNT = '123456789012';
const FUNCTIONS_PATH = '/2015-03-31/functions';

/** Runs in the handler child: find index.{mjs,js,cjs}, call the export with the stdin payload. */
const RUNTIME_SHIM = `
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const [moduleName, exportName] = process.env.FIXTURE_HANDLER.split('.');
const root = process.env.LAMBDA_TASK_ROOT;
const file = ['.mjs', '.js', '.cjs'].map((ext) => join(root, moduleName + ext)).find((f) => existsSync(f));
if (!file) { console.error('Runtime.ImportModuleError: no ' + moduleName + ' module in ' + root); process.exit(2); }
const mod = await import(pathToFileURL(file).href);
const handler = mod[exportName] ?? mod.default?.[exportName];
if (typeof handler !== 'function') { console.error('Runtime.HandlerNotFound: ' + process.env.FIXTURE_HANDLER); process.exit(2); }
const event = JSON.parse(readFileSync(0, 'utf8'));
try {
  const result = await handler(event, { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => 900000 });
  process.stdout.write(JSON.stringify(result ?? null));
  process.exit(0);
} catch (error) {
  console.error('Runtime.HandlerError: ' + (error && error.stack || error));
  process.exit(1);
}
`;

/** Start the fake Lambda on an ephemeral port of 127.0.0.1. */
export async function startLambdaFixture(options: LambdaFixtureOptions = {}): Promise<LambdaFixture> {
  const mode = options.mode ?? 'record';
  let throttleShare = options.throttleShare ?? 0;
  const random = mulberry32(options.seed ?? 1);
  const functions = new Map<string, FixtureFunction>();
  const invocations: RecordedInvocation[] = [];
  const runs: HandlerRun[] = [];
  const counts: FixtureCounts = { invokeCalls: 0, throttled: 0, scalingThrottled: 0, accepted: 0, duplicated: 0, unsigned: 0, createCalls: 0, getCalls: 0 };
  const duplicateShare = options.duplicateShare ?? 0;
  const redeliveries = new Set<NodeJS.Timeout>();
  const scaling = scalingBuckets(options.scaling ?? LAMBDA_SCALING_LIMIT);
  const children = new Set<ChildProcess>();
  const runWaiters = new Set<() => void>();
  const workDir = await mkdtemp(join(tmpdir(), 'xc-lambda-fixture-'));

  const addFunction = (name: string, region = 'us-east-1', fields: Partial<FunctionConfiguration> = {}, taskRoot?: string) => {
    const configuration: FunctionConfiguration = {
      FunctionName: name,
      FunctionArn: `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`,
      Role: `arn:aws:iam::${ACCOUNT}:role/fixture`,
      CodeSize: 0,
      CodeSha256: '',
      Description: '',
      Timeout: 3,
      MemorySize: 128,
      LastModified: new Date().toISOString().replace('Z', '+0000'),
      Version: '$LATEST',
      PackageType: 'Zip',
      Architectures: ['x86_64'],
      State: 'Pending',
      StateReasonCode: 'Creating',
      LastUpdateStatus: 'Successful',
      ...fields,
    };
    functions.set(name, { name, region, configuration, taskRoot, createdAt: Date.now() });
    return configuration;
  };

  const currentConfiguration = (fn: FixtureFunction): FunctionConfiguration => {
    const activationDelayMs = options.activationDelayMs ?? 0;
    if (fn.configuration.State === 'Pending' && Date.now() - fn.createdAt >= activationDelayMs) {
      fn.configuration.State = 'Active';
      delete fn.configuration.StateReasonCode;
    }
    return fn.configuration;
  };

  const runHandler = (fn: FixtureFunction, body: Buffer) => {
    const env = {
      AWS_REGION: fn.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.configuration.MemorySize),
      ...(fn.configuration.Environment?.Variables ?? {}),
      ...(options.handlerEnv ?? {}),
    };
    const running = startHandlerProcess(fn.taskRoot!, fn.configuration.Handler ?? 'index.handler', body, env);
    children.add(running.child);
    void running.result.then((run) => {
      children.delete(running.child);
      runs.push({ ...run, functionName: fn.name });
      for (const wake of [...runWaiters]) wake();
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const path = url.pathname;
    const invokeMatch = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    if (invokeMatch && req.method === 'POST') counts.invokeCalls++;
    const scope = parseAuthorization(req.headers.authorization);
    if (!scope) {
      counts.unsigned++;
      req.resume();
      return sendError(res, 403, 'IncompleteSignatureException', 'Authorization header missing or not AWS4-HMAC-SHA256 for lambda');
    }
    if (invokeMatch && req.method === 'POST') {
      const name = decodeURIComponent(invokeMatch[1]!);
      if (throttleShare > 0 && random() < throttleShare) {
        counts.throttled++;
        req.resume();
        return sendError(res, 429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: 'ConcurrentInvocationLimitExceeded' });
      }
      const overScalingLimit = () => {
        if (scaling.take(`${scope.region}/${name}`)) return false;
        counts.throttled++;
        counts.scalingThrottled++;
        sendError(res, 429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: 'FunctionInvocationRateLimitExceeded' });
        return true;
      };
      if (mode === 'instant') {
        req.resume();
        req.on('end', () => {
          if (overScalingLimit()) return;
          counts.accepted++;
          res.writeHead(202, { 'x-amzn-requestid': 'instant', 'content-length': '0' });
          res.end();
        });
        return;
      }
      const body = await readBody(req);
      const fn = functions.get(name);
      if (!fn) return sendError(res, 404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:${scope.region}:${ACCOUNT}:function:${name}`);
      const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      if (type !== 'Event') return sendError(res, 400, 'InvalidParameterValueException', `this fixture supports only Event invocations, got ${type}`);
      if (body.byteLength > MAX_EVENT_PAYLOAD_BYTES) {
        return sendError(res, 413, 'RequestTooLargeException', `Request must be smaller than ${MAX_EVENT_PAYLOAD_BYTES} bytes for the InvokeAsync operation`);
      }
      let payload: unknown;
      try {
        payload = body.byteLength === 0 ? null : JSON.parse(body.toString('utf8'));
      } catch {
        return sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      if (currentConfiguration(fn).State !== 'Active') {
        return sendError(res, 409, 'ResourceConflictException', 'The operation cannot be performed at this time. The function is currently in the following state: Pending');
      }
      if (overScalingLimit()) return;
      counts.accepted++;
      const record: RecordedInvocation = { functionName: name, region: scope.region, invocationType: type, payload, payloadBytes: body.byteLength, at: Date.now() };
      invocations.push(record);
      res.writeHead(202, { 'x-amzn-requestid': `req-${counts.accepted}`, 'content-length': '0' });
      res.end();
      options.onInvoke?.(record);
      if (mode === 'run' && fn.taskRoot) {
        runHandler(fn, body);
        if (duplicateShare > 0 && random() < duplicateShare) {
          counts.duplicated++;
          // Late, as a redelivery is: the first copy has usually said hello by then.
          const timer = setTimeout(() => {
            redeliveries.delete(timer);
            runHandler(fn, body);
          }, 200);
          redeliveries.add(timer);
        }
      }
      return;
    }
    if (path === FUNCTIONS_PATH && req.method === 'POST') {
      counts.createCalls++;
      return createFunction(await readBody(req), scope.region, res);
    }
    const getMatch = /^\/2015-03-31\/functions\/([^/]+)$/.exec(path);
    if (getMatch && req.method === 'GET') {
      counts.getCalls++;
      req.resume();
      const fn = functions.get(decodeURIComponent(getMatch[1]!));
      if (!fn) return sendError(res, 404, 'ResourceNotFoundException', `Function not found: ${getMatch[1]}`);
      return sendJson(res, 200, {
        Configuration: currentConfiguration(fn),
        Code: { RepositoryType: 'S3', Location: `${endpoint}/code/${fn.name}.zip` },
      });
    }
    req.resume();
    return sendError(res, 404, 'UnknownOperationException', `${req.method} ${path} is not part of this fixture`);
  };

  const createFunction = async (body: Buffer, region: string, res: ServerResponse) => {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const name = input.FunctionName;
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) return sendError(res, 400, 'InvalidParameterValueException', `bad FunctionName ${JSON.stringify(name)}`);
    if (functions.has(name)) return sendError(res, 409, 'ResourceConflictException', `Function already exist: ${name}`);
    if (typeof input.Role !== 'string' || !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(input.Role)) {
      return sendError(res, 400, 'ValidationException', `1 validation error detected: Value '${String(input.Role)}' at 'role' failed to satisfy constraint`);
    }
    const code = input.Code as { ZipFile?: string } | undefined;
    if (!code?.ZipFile) return sendError(res, 400, 'InvalidParameterValueException', 'Code.ZipFile is required by this fixture');
    const zip = Buffer.from(code.ZipFile, 'base64');
    const taskRoot = join(workDir, name);
    try {
      await unpackZip(zip, taskRoot);
    } catch (error) {
      return sendError(res, 400, 'InvalidParameterValueException', `Could not unzip uploaded file: ${(error as Error).message}`);
    }
    const environment = input.Environment as { Variables?: Record<string, string> } | undefined;
    const configuration = addFunction(
      name,
      region,
      {
        Runtime: typeof input.Runtime === 'string' ? input.Runtime : undefined,
        Role: input.Role,
        Handler: typeof input.Handler === 'string' ? input.Handler : 'index.handler',
        CodeSize: zip.byteLength,
        CodeSha256: createHash('sha256').update(zip).digest('base64'),
        Description: typeof input.Description === 'string' ? input.Description : '',
        Timeout: typeof input.Timeout === 'number' ? input.Timeout : 3,
        MemorySize: typeof input.MemorySize === 'number' ? input.MemorySize : 128,
        ...(environment?.Variables ? { Environment: { Variables: environment.Variables } } : {}),
      },
      taskRoot,
    );
    return sendJson(res, 201, configuration);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'ServiceException', (error as Error).message);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    functions,
    invocations,
    runs,
    counts,
    setThrottleShare: (share) => {
      throttleShare = share;
    },
    addFunction: (name, region) => {
      const configuration = addFunction(name, region);
      configuration.State = 'Active';
      delete configuration.StateReasonCode;
    },
    waitForRuns: (count, timeoutMs = 20_000) =>
      new Promise<HandlerRun[]>((resolve, reject) => {
        const check = () => {
          if (runs.length < count) return;
          clearTimeout(timer);
          runWaiters.delete(check);
          resolve(runs.slice());
        };
        const timer = setTimeout(() => {
          runWaiters.delete(check);
          reject(new Error(`only ${runs.length} of ${count} handler runs ended within ${timeoutMs} ms: ${JSON.stringify(runs.map((r) => r.stderr.slice(-400)))}`));
        }, timeoutMs);
        runWaiters.add(check);
        check();
      }),
    close: async () => {
      for (const timer of redeliveries) clearTimeout(timer);
      for (const child of children) child.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Run `handler` (e.g. `index.handler`) of an unpacked function in a child process, as Lambda's
 * Node.js runtime would: task root as cwd and LAMBDA_TASK_ROOT, the payload as the event.
 *
 * @example const run = await startHandlerProcess(dir, 'index.handler', Buffer.from('{}'), {}).result;
 */
export function startHandlerProcess(
  taskRoot: string,
  handler: string,
  payload: Buffer,
  env: Record<string, string>,
): { child: ChildProcess; result: Promise<Omit<HandlerRun, 'functionName'>> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNTIME_SHIM], {
    cwd: taskRoot,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      TMPDIR: tmpdir(),
      LAMBDA_TASK_ROOT: taskRoot,
      FIXTURE_HANDLER: handler,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout = tail(stdout + chunk.toString('utf8'))));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = tail(stderr + chunk.toString('utf8'))));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(payload);
  const result = new Promise<Omit<HandlerRun, 'functionName'>>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, result };
}

/** The region and service of a SigV4 Authorization header, or undefined when it is not one. */
function parseAuthorization(header: string | undefined): { region: string } | undefined {
  if (!header) return undefined;
  const match = /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/([a-z0-9-]+)\/lambda\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/.exec(header);
  return match ? { region: match[1]! } : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': 'fixture' });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}): void {
  const text = JSON.stringify({ Type: 'User', message, ...extra });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': type,
    'x-amzn-requestid': 'fixture',
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tail(text: string, max = 16_384): string {
  return text.length > max ? text.slice(-max) : text;
}

/** Unpack a zip as Lambda does, keeping Unix modes; refuses entries escaping the folder. */
export async function unpackZip(zip: Buffer, dir: string): Promise<void> {
  const entries = await readZip(zip);
  let total = 0;
  for (const entry of entries) total += entry.data.byteLength;
  if (total > MAX_UNZIPPED_BYTES) throw new Error(`unzipped size ${total} exceeds ${MAX_UNZIPPED_BYTES}`);
  await mkdir(dir, { recursive: true });
  for (const entry of entries) {
    const target = normalize(join(dir, entry.name));
    if (isAbsolute(entry.name) || !target.startsWith(dir + sep)) throw new Error(`entry ${entry.name} escapes the task root`);
    if (entry.name.endsWith('/')) {
      await mkdir(target, { recursive: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, entry.data, { mode: entry.mode || 0o644 });
  }
}

export interface ZipEntryRead {
  name: string;
  mode: number;
  data: Buffer;
}

/** Every entry of a zip, with its Unix mode (0 when the zip records none). */
export function readZip(zip: Buffer): Promise<ZipEntryRead[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (openError, file) => {
      if (openError || !file) return reject(openError ?? new Error('cannot open zip'));
      const entries: ZipEntryRead[] = [];
      file.on('error', reject);
      file.on('end', () => resolve(entries));
      file.on('entry', (entry: yauzl.Entry) => {
        const mode = (entry.externalFileAttributes >>> 16) & 0o7777;
        if (entry.fileName.endsWith('/')) {
          entries.push({ name: entry.fileName, mode, data: Buffer.alloc(0) });
          file.readEntry();
          return;
        }
        file.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error(`cannot read ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, mode, data: Buffer.concat(chunks) });
            file.readEntry();
          });
        });
      });
      file.readEntry();
    });
  });
}

/**
 * One token bucket per key (function and region): full at first, refilled at `environments` per
 * `perMs`, never above `environments`. `take` uses a token when there is one.
 */
function scalingBuckets(limit: ScalingLimit | false): { take(key: string): boolean } {
  if (limit === false) return { take: () => true };
  if (!(limit.environments >= 1 && limit.perMs > 0)) throw new Error(`scaling limit needs environments >= 1 and perMs > 0, got ${JSON.stringify(limit)}`);
  const perMs = limit.environments / limit.perMs;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const now = performance.now();
      const bucket = buckets.get(key) ?? { tokens: limit.environments, at: now };
      bucket.tokens = Math.min(limit.environments, bucket.tokens + (now - bucket.at) * perMs);
      bucket.at = now;
      buckets.set(key, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}

