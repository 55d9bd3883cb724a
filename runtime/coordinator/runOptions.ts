/**
 * The options every job run has (store, workers, network and TLS, output, seeing the job), as one
 * declarative table that generates the `run` parser, its `--help` and the defaults, and the
 * compiled shape (every field present, durations in ms). Compiled once at the edge, with `env`
 * the only place environment variables are read; nothing downstream re-checks options.
 */
import { availableParallelism, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { DEFAULT_MAX_ANSWER_BYTES } from '../../protocol/frame.js';
import { MAX_FUNCTION_COPIES } from '../lambda/functionCopies.js';
import { resolveEndpointOverride } from '../launch/lambdaEndpoint.js';
import { DEFAULT_ANSWER_TIMEOUT_MS } from '../../machines/connectionSetup.js';
import { hashKey } from '../../store/hashKey.js';
import { ConfigError } from '../../common/errors.js';
import { optionTable, resolveOptions, type OptionValues, type ResolvedValues } from '../../common/optionTable.js';
import { DEFAULT_BUCKET } from '../../store/openStore.js';
import { DEFAULT_REGION } from '../../worker/parseEvent.js';
import { CREDENTIAL_ENV, type CredentialOptions } from '../tls/credentials.js';
import { plotFormat } from '../observe/timelinePlot.js';
import { DEFAULT_COORDINATOR_PORT } from '../../protocol/messages.js';
import { RELAY_OPTIONS } from '../relay/relayOptions.js';
import { DEFAULT_FUNCTION_MEMORY_MB, DEFAULT_FUNCTION_TIMEOUT_S } from '../lambda/functionDefaults.js';

/** mu's rendezvous port: where an external relay (-H) listens unless -T says otherwise. */
const DEFAULT_RELAY_PORT = RELAY_OPTIONS.port.default;

export type LauncherKind = 'local' | 'none' | 'lambda';
export const LAUNCHER_KINDS = ['local', 'none', 'lambda'] as const satisfies readonly LauncherKind[];

const STORE = 'Store';
const WORKERS = 'Workers';
const RECOVERY = 'Recovery';
const NETWORK = 'Network and TLS';
const OUTPUT = 'Output';
const SEEING = 'Seeing the job';

/** The run options of every job, by property name. */
export const RUN_OPTIONS = optionTable({
  bucket: { flag: 'bucket', short: 'b', type: 'string', arg: 'STORE', section: STORE, default: DEFAULT_BUCKET, help: 'file:DIR (a local folder) or an S3 bucket' },
  hashKeys: {
    flag: 'hash-keys', short: 'M', type: 'boolean', section: STORE,
    help: 'hashed key names: 4 hex digits of the MD5 of the file name, then\na dash, before each key (mu\'s hash_s3keys; spreads S3 partitions)',
  },
  s3Endpoint: {
    flag: 's3-endpoint', type: 'string', arg: 'URL', section: STORE,
    help: 'endpoint of an S3-compatible service (env AWS_ENDPOINT_URL_S3,\nAWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores them)',
  },
  launcher: {
    flag: 'launcher', type: 'choice', arg: 'KIND', section: WORKERS, choices: LAUNCHER_KINDS, default: 'local',
    help: "local: child processes on this machine;\nnone: start nothing, write the payload to --payload-out and wait\nfor workers started with 'xc-orch worker --event FILE';\nlambda: invoke the function -l in the regions -r (see lambdaize)",
  },
  payloadOut: { flag: 'payload-out', type: 'string', arg: 'FILE', section: WORKERS, help: 'where --launcher none writes the invocation payload (mode 0600)' },
  spares: { flag: 'spares', short: 'X', type: 'integer', section: WORKERS, min: 0, max: 100_000, default: 0, help: 'extra invocations that take over chunks whose worker never arrives' },
  killAfterS: { flag: 'kill-after', short: 'm', type: 'seconds', section: WORKERS, defaultText: 'never', help: 'end the job after S seconds, failing chunks still running' },
  answerTimeoutS: { flag: 'answer-timeout', type: 'seconds', section: WORKERS, default: DEFAULT_ANSWER_TIMEOUT_MS / 1000, help: 'seconds a worker may take to answer one command' },
  arrivalTimeoutS: {
    flag: 'arrival-timeout', type: 'seconds', section: WORKERS, default: 120, zeroMeans: 'wait',
    help: 'seconds within which launched workers must connect, else their\nlaunch counts as failed (0: wait; --launcher none waits unless given one)',
  },
  stateWaitS: {
    // Below the timeout lambdaize gives a function: on Lambda a missing state is reported, naming
    // it, before the function is killed.
    flag: 'state-wait', type: 'seconds', section: WORKERS, default: DEFAULT_FUNCTION_TIMEOUT_S - 30,
    help: "jobs whose workers talk to each other: seconds a worker waits for its\npeer's state (##INSTATEWAIT##) before that run: fails, naming it;\nkeep it below the Lambda function's timeout",
  },
  localWorkers: {
    flag: 'local-workers', type: 'integer', arg: 'N', section: WORKERS, min: 1, max: 100_000, defaultText: 'CPU cores',
    help: 'local worker processes alive at once (--launcher local); the next\nstarts when one ends',
  },
  launchConcurrency: { flag: 'launch-concurrency', type: 'integer', section: WORKERS, min: 1, max: 10_000, default: 64, help: 'launches in flight at once' },
  functionName: { flag: 'function', short: 'l', type: 'string', arg: 'NAME', section: WORKERS, default: 'png2y4m', help: 'Lambda function name' },
  functionCopies: {
    flag: 'function-copies', type: 'integer', section: WORKERS, min: 1, max: MAX_FUNCTION_COPIES, default: 1,
    help: "invocations spread over NAME-0 .. NAME-(K-1), as 'lambdaize --copies K'\nmade them (Lambda scales each function by at most 1,000 per 10 s)",
  },
  regions: {
    flag: 'regions', short: 'r', type: 'list', arg: 'R1,R2', section: WORKERS, default: [DEFAULT_REGION],
    help: 'Lambda regions; invocation k goes to region k mod R; the first\nis also the S3 region',
  },
  lambdaMemoryMb: {
    flag: 'lambda-memory', type: 'integer', arg: 'MB', section: WORKERS, min: 128, max: 10_240, default: DEFAULT_FUNCTION_MEMORY_MB,
    help: "the function's memory, for the cost estimate (as 'lambdaize --memory')",
  },
  lambdaEndpoint: { flag: 'lambda-endpoint', type: 'string', arg: 'URL', section: WORKERS, help: 'a Lambda-compatible API instead of AWS (env AWS_ENDPOINT_URL_LAMBDA)' },
  retries: {
    flag: 'retries', type: 'integer', section: RECOVERY, min: 0, max: 100, default: 2,
    help: 'more attempts a chunk gets after a failed one, each a new worker\n(0: none, as mu); failures a retry cannot change are not retried',
  },
  noSpeculation: {
    flag: 'no-speculation', type: 'boolean', section: RECOVERY,
    help: 'no second worker for stragglers (a job may turn speculation off too)',
  },
  stragglerFactor: {
    flag: 'straggler-factor', type: 'number', arg: 'F', section: RECOVERY, above: 1, max: 1_000, default: 3,
    help: 'once half the chunks are done, a chunk running longer than F times\ntheir median gets a second worker; the first to finish wins',
  },
  resume: {
    flag: 'resume', type: 'boolean', section: RECOVERY,
    help: 'skip chunks whose outputs are all in the store already (after a\ncrash, Ctrl-C or a failed run: redo only what is missing)',
  },
  port: { flag: 'port', short: 't', type: 'integer', section: NETWORK, min: 0, max: 65535, default: DEFAULT_COORDINATOR_PORT, help: 'TLS port to listen on (0: any free port)' },
  host: {
    flag: 'host', type: 'string', arg: 'ADDR', section: NETWORK, defaultText: '127.0.0.1 for local workers, else this machine\'s first non-loopback IPv4',
    help: 'address workers dial back to', pattern: /^\S+$/, expected: 'a host name or address',
  },
  listen: {
    flag: 'listen', type: 'string', arg: 'ADDR', section: NETWORK, pattern: /^\S+$/, expected: 'an IP address to listen on',
    defaultText: '127.0.0.1 for local workers or a loopback --host, else 0.0.0.0',
    help: 'address the coordinator listens on for workers',
  },
  caCert: { flag: 'ca-cert', short: 'c', type: 'string', arg: 'FILE', section: NETWORK, defaultText: 'fresh per run, never written', help: `CA certificate (env ${CREDENTIAL_ENV.caCert})` },
  serverCert: { flag: 'server-cert', short: 's', type: 'string', arg: 'FILE', section: NETWORK, help: `server certificate (env ${CREDENTIAL_ENV.serverCert})` },
  serverKey: {
    flag: 'server-key', short: 'k', type: 'string', arg: 'FILE', section: NETWORK,
    help: `server private key (env ${CREDENTIAL_ENV.serverKey}); the workers' pair is\nworker_cert.pem/worker_key.pem beside -s (as 'xc-orch genkeys' writes\nthem) or env ${CREDENTIAL_ENV.workerCert}/${CREDENTIAL_ENV.workerKey}; env values may be paths or PEM text`,
  },
  relayHost: {
    flag: 'relay-host', short: 'H', type: 'string', arg: 'HOST', section: NETWORK, pattern: /^\S+$/, expected: 'a host name or address',
    defaultText: 'a relay in this coordinator, for jobs whose workers talk to each other',
    help: "an external relay (xc-orch rendezvous, started with this run's -c/-s/-k)\nthat workers dial instead of the coordinator's own",
  },
  relayPort: {
    flag: 'relay-port', short: 'T', type: 'integer', section: NETWORK, min: 0, max: 65535,
    defaultText: `${DEFAULT_RELAY_PORT} with -H; else any free port`,
    help: "the relay's port: -H's, or the one the coordinator's own relay listens on",
  },
  maxFrameBytes: {
    flag: 'max-frame-bytes', type: 'integer', section: NETWORK, min: 1024, max: 2 ** 31, default: DEFAULT_MAX_ANSWER_BYTES,
    help: 'largest answer accepted from a worker (answers are small; state\nframes between workers go through the relay)',
  },
  timesFile: { flag: 'times', short: 'O', type: 'string', arg: 'FILE', section: OUTPUT, help: 'write every state entry with its time (JSON lines)' },
  profileFile: { flag: 'profile', short: 'P', type: 'string', arg: 'FILE', section: OUTPUT, help: 'write a CPU profile of the coordinator (.cpuprofile)' },
  json: { flag: 'json', type: 'boolean', section: OUTPUT, help: 'print the summary as JSON on stdout (every chunk with its outputs)' },
  quiet: { flag: 'quiet', short: 'q', type: 'boolean', section: OUTPUT, help: 'no live status on stderr' },
  debug: { flag: 'debug', short: 'D', type: 'boolean', section: OUTPUT, help: 'debug logging on stderr' },
  dashboardPort: {
    flag: 'dashboard', type: 'integer', arg: 'PORT', section: SEEING, min: 0, max: 65535, bare: 0,
    help: 'serve a live dashboard on 127.0.0.1 (no PORT: any free port) and print its URL',
  },
  dashboardHost: { flag: 'dashboard-host', type: 'string', arg: 'ADDR', section: SEEING, defaultText: '127.0.0.1', help: 'address the dashboard binds' },
  plotFile: { flag: 'plot', type: 'string', arg: 'FILE', section: SEEING, help: "draw the job's timeline to FILE (.html or .svg) when it ends" },
  inspect: {
    flag: 'inspect', type: 'boolean', section: SEEING,
    help: "stream XState inspection to Stately's inspector: prints a local page\nto open (it embeds stately.ai/inspect, so that browser needs internet)",
  },
  inspectPort: { flag: 'inspect-port', type: 'integer', section: SEEING, min: 0, max: 65535, default: 0, help: 'port of that page and its WebSocket (0: any free port)' },
  inspectSample: {
    flag: 'inspect-sample', type: 'integer', arg: 'K', section: SEEING, min: 0, max: 100_000, default: 8,
    help: 'worker machines inspected besides the supervisor, spread over the\nchunks (inspecting is slow: 1,000 made a run ~3x slower)',
  },
  inspectRecord: { flag: 'inspect-record', type: 'string', arg: 'FILE', section: SEEING, help: 'write the inspection stream as JSON lines (with or without --inspect)' },
});

/** The public run options: every field optional, defaults in {@link RUN_OPTIONS}. */
export type RunOptions = OptionValues<typeof RUN_OPTIONS>;

type Resolved = ResolvedValues<typeof RUN_OPTIONS>;

/** Compiled run options: defaults applied, durations in ms, derived addresses and TLS sources. */
export interface CompiledRunOptions
  extends Omit<Resolved, 'localWorkers' | 'killAfterS' | 'answerTimeoutS' | 'arrivalTimeoutS' | 'stateWaitS' | 'caCert' | 'serverCert' | 'serverKey' | 'inspect' | 'inspectPort' | 'inspectSample' | 'inspectRecord' | 'dashboardPort' | 'dashboardHost' | 'listen' | 'host' | 'relayHost' | 'relayPort'> {
  host: string;
  /** Address the worker server binds (`--listen`). */
  listenHost: string;
  tls: CredentialOptions;
  /** Environment the credentials are read from (worker pair, PEM bodies). */
  env: NodeJS.ProcessEnv;
  killAfterMs?: number;
  answerTimeoutMs: number;
  arrivalTimeoutMs?: number;
  stateWaitMs: number;
  /** How `host` was chosen, said to the user when it was detected. */
  hostNote?: string;
  /** Present when inspecting: `port` only with `--inspect`. */
  inspect?: { port?: number; sample: number; recordFile?: string };
  /** Present with `--dashboard`. */
  dashboard?: { port: number; host: string };
  /**
   * Where the workers of a job with peer links meet: a relay elsewhere (`-H/-T`), or one the
   * coordinator runs on `listenHost`, port `port` (0: any free one). Unused by other jobs.
   */
  relay: { kind: 'external'; host: string; port: number } | { kind: 'embedded'; port: number };
  /** `--local-workers`, resolved: the CPU cores when not given. */
  localWorkers: number;
}

const seconds = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));

/**
 * @example compileRunOptions({ launcher: 'none', payloadOut: 'p.json' }, {}).listenHost // '0.0.0.0'
 */
export function compileRunOptions(options: RunOptions, env: NodeJS.ProcessEnv = process.env): CompiledRunOptions {
  const o = resolveOptions(RUN_OPTIONS, options, env);
  const tlsGiven = (['caCert', 'serverCert', 'serverKey'] as const).filter((role) => o[role] !== undefined || (env[CREDENTIAL_ENV[role]] ?? '') !== '');
  if (tlsGiven.length !== 0 && tlsGiven.length !== 3) {
    throw new ConfigError('-c, -s and -k go together (or env CA_CERT, SRV_CERT, SRV_KEY): give the CA certificate, server certificate and server key, or none');
  }
  const launcher = o.launcher;
  const detected = o.host === undefined && launcher !== 'local' ? detectHost() : undefined;
  const host = o.host ?? detected?.address ?? '127.0.0.1';
  if (o.listen !== undefined && isIP(o.listen) === 0) throw new ConfigError(`--listen must be an IP address (such as 127.0.0.1 or 0.0.0.0), got ${JSON.stringify(o.listen)}`);
  const listenHost = o.listen ?? (launcher === 'local' || isLoopback(host) ? '127.0.0.1' : '0.0.0.0');
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  // Only an S3 store has an endpoint; it goes into the payload, so Lambda workers use it too.
  const s3Endpoint = o.s3Endpoint ?? (o.bucket.startsWith('file:') || ignoreEnv ? undefined : env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (o.plotFile !== undefined) plotFormat(o.plotFile);
  if (!o.inspect && o.inspectRecord === undefined && (options.inspectPort !== undefined || options.inspectSample !== undefined)) {
    throw new ConfigError('--inspect-port and --inspect-sample go with --inspect or --inspect-record');
  }
  if (o.dashboardHost !== undefined && o.dashboardPort === undefined) throw new ConfigError('--dashboard-host goes with --dashboard');
  // Functions on AWS see no folder of this machine: every one would fail at its first retrieve:.
  // A Lambda-compatible API of one's own (--lambda-endpoint) may well run its functions here.
  if (launcher === 'lambda' && o.bucket.startsWith('file:') && resolveEndpointOverride(o.lambdaEndpoint, env) === undefined) {
    throw new ConfigError(`--launcher lambda needs an S3 bucket (-b BUCKET): workers on AWS Lambda cannot read the local folder ${o.bucket}`);
  }
  if (launcher === 'none' && o.payloadOut === undefined) {
    throw new ConfigError('--launcher none needs --payload-out FILE (where to write the payload for workers started by hand)');
  }
  if (o.relayHost !== undefined && tlsGiven.length === 0) {
    throw new ConfigError("-H (an external relay) needs -c, -s and -k: the relay, the run and its workers must share one CA (make the files with 'xc-orch genkeys DIR')");
  }
  if (o.relayHost !== undefined && o.relayPort === 0) throw new ConfigError("-T 0 (any free port) is for the coordinator's own relay: with -H, give the external relay's port");
  const { killAfterS, answerTimeoutS, arrivalTimeoutS, stateWaitS, caCert, serverCert, serverKey, inspect, inspectPort, inspectSample, inspectRecord, dashboardPort, dashboardHost, listen: _listen, host: _host, relayHost, relayPort, ...rest } = o;
  return {
    ...rest,
    s3Endpoint,
    host,
    listenHost,
    hostNote: detected?.note,
    tls: { caCert, serverCert, serverKey },
    env,
    killAfterMs: seconds(killAfterS),
    answerTimeoutMs: seconds(answerTimeoutS)!,
    stateWaitMs: seconds(stateWaitS)!,
    // 0 waits; without the option, workers started by hand are waited for.
    arrivalTimeoutMs: arrivalTimeoutS === 0 || (launcher === 'none' && options.arrivalTimeoutS === undefined) ? undefined : seconds(arrivalTimeoutS),
    inspect:
      inspect || inspectRecord !== undefined
        ? { ...(inspect ? { port: inspectPort } : {}), sample: inspectSample, ...(inspectRecord === undefined ? {} : { recordFile: inspectRecord }) }
        : undefined,
    dashboard: dashboardPort === undefined ? undefined : { port: dashboardPort, host: dashboardHost ?? '127.0.0.1' },
    relay: relayHost === undefined ? { kind: 'embedded', port: relayPort ?? 0 } : { kind: 'external', host: relayHost, port: relayPort ?? DEFAULT_RELAY_PORT },
    localWorkers: o.localWorkers ?? availableParallelism(),
    // Workers started by hand cannot be started again: no retries or copies unless asked for.
    ...(launcher === 'none' ? { retries: options.retries ?? 0, noSpeculation: options.noSpeculation ?? true } : {}),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * The address remote workers should dial when `--host` is not given: the first non-internal IPv4
 * address of this machine (loopback when there is none), with a sentence saying so.
 */
export function detectHost(interfaces = networkInterfaces()): { address: string; note: string } {
  for (const [name, addresses] of Object.entries(interfaces)) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) {
        return {
          address: address.address,
          note: `workers will dial ${address.address} (interface ${name}); it must be reachable from where they run — use --host ADDR to choose`,
        };
      }
    }
  }
  return { address: '127.0.0.1', note: 'no network interface found: workers will dial 127.0.0.1 — use --host ADDR to choose' };
}

/** The key an object has in the store: hashed with `-M`, as the workers name it. */
export function storedKey(options: Pick<CompiledRunOptions, 'hashKeys'>, key: string): string {
  return options.hashKeys ? hashKey(key) : key;
}
