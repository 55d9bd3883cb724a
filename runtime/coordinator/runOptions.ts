/**
 * Options of a png2y4m run: the public shape (every field optional, default documented) and the
 * compiled shape (every field present, durations in ms, sizes in bytes). Compiled once at the edge;
 * nothing downstream re-checks options.
 */
import { networkInterfaces } from 'node:os';
import { DEFAULT_MAX_FRAME_BYTES } from '../../protocol/frame.js';
import { hashKey } from '../../store/hashKey.js';
import { ConfigError } from '../../common/errors.js';
import { DEFAULT_BUCKET } from '../../store/openStore.js';
import { plotFormat } from '../observe/timelinePlot.js';

export type LauncherKind = 'local' | 'none' | 'lambda';
export const LAUNCHER_KINDS: readonly LauncherKind[] = ['local', 'none', 'lambda'];

export interface RunOptions {
  /** `-n`: number of chunks, one worker each. Default 1. */
  parts?: number;
  /** `-f`: frames per chunk. Default 6. */
  frames?: number;
  /** `-o`: number of the first chunk. Default 0. */
  offset?: number;
  /** `-v`: video name, the prefix of every key. Default `sintel-1k`. */
  video?: string;
  /** `-b`: store, `file:DIR` or an S3 bucket. Default `file:./xc-store`. */
  bucket?: string;
  /** `-i`: input format, the suffix of the input folder. Default `png16`. */
  inFormat?: string;
  /** `-t`: TLS port the coordinator listens on; 0 picks a free one. Default 13579. */
  port?: number;
  /** `--host`: address workers dial. Default 127.0.0.1 for local workers; detected otherwise. */
  host?: string;
  /** `-l`: Lambda function name (used by the Lambda launcher). Default `png2y4m`. */
  functionName?: string;
  /** `-r`: comma-separated regions. Default `us-east-1`. */
  regions?: string[];
  /** `-c/-s/-k`: CA certificate, server certificate and key files; default: fresh per run. */
  caCert?: string;
  serverCert?: string;
  serverKey?: string;
  /** `-D`: debug logging. */
  debug?: boolean;
  /** `-O`: write state entries with timestamps (JSON lines) to this file. */
  timesFile?: string;
  /** `-P`: write a CPU profile of the coordinator to this file. */
  profileFile?: string;
  /** `-X`: spare workers launched beyond `-n`. Default 0. */
  spares?: number;
  /** `-m`: seconds after which workers still running are killed and the job fails. Default: never. */
  killAfterS?: number;
  /** `--launcher`: `local` child processes (default), `none` (workers started elsewhere) or `lambda`. */
  launcher?: LauncherKind;
  /** `--payload-out`: with `--launcher none`, where to write the invocation payload. */
  payloadOut?: string;
  /** `--json`: print the summary as JSON on stdout. */
  json?: boolean;
  /**
   * `--arrival-timeout`: seconds after the start within which launched workers must connect, else
   * their launch counts as failed. Default 120 (local, lambda); none for `--launcher none`; 0: wait.
   */
  arrivalTimeoutS?: number;
  /** `--answer-timeout`: seconds a worker may take to answer one command. Default 120. */
  answerTimeoutS?: number;
  /** `--max-frame-bytes`: largest frame accepted. Default 64 MiB. */
  maxFrameBytes?: number;
  /** `--launch-concurrency`: launches in flight at once. Default 64. */
  launchConcurrency?: number;
  /** `--s3-endpoint`: endpoint of an S3-compatible service. */
  s3Endpoint?: string;
  /** `--lambda-endpoint`: endpoint of a Lambda-compatible API (tests, LocalStack). */
  lambdaEndpoint?: string;
  /** `-M`: hashed key names (mu's `hash_s3keys`): a 4-hex-digit prefix spreads keys over S3 partitions. */
  hashKeys?: boolean;
  /** `--quiet`: no live status on stderr. */
  quiet?: boolean;
  /** `--inspect`: serve the Stately inspector's page on 127.0.0.1 and stream XState inspection to it. */
  inspect?: boolean;
  /** `--inspect-port`: port of that page and its WebSocket; 0 picks a free one. Default 0. */
  inspectPort?: number;
  /** `--inspect-sample`: worker machines inspected, spread over the chunks. Default 8 (all when `-n` <= 8). */
  inspectSample?: number;
  /** `--inspect-record`: write the inspection stream as JSON lines to this file (with or without `--inspect`). */
  inspectRecord?: string;
  /** `--dashboard [PORT]`: serve the live dashboard; 0 picks a free port. Default: no dashboard. */
  dashboardPort?: number;
  /** `--dashboard-host`: address the dashboard binds. Default 127.0.0.1. */
  dashboardHost?: string;
  /** `--plot`: draw the job's timeline to this `.html` or `.svg` file when it ends. */
  plotFile?: string;
}

export interface CompiledRunOptions {
  parts: number;
  frames: number;
  offset: number;
  video: string;
  bucket: string;
  inFormat: string;
  port: number;
  host: string;
  listenHost: string;
  functionName: string;
  regions: string[];
  tls: { caCert?: string; serverCert?: string; serverKey?: string };
  debug: boolean;
  timesFile?: string;
  profileFile?: string;
  spares: number;
  killAfterMs?: number;
  launcher: LauncherKind;
  payloadOut?: string;
  json: boolean;
  answerTimeoutMs: number;
  arrivalTimeoutMs?: number;
  helloTimeoutMs: number;
  maxFrameBytes: number;
  launchConcurrency: number;
  s3Endpoint?: string;
  lambdaEndpoint?: string;
  hashKeys: boolean;
  /** How `host` was chosen, said to the user when it was detected. */
  hostNote?: string;
  quiet: boolean;
  /** Present when inspecting: `port` only with `--inspect`. */
  inspect?: { port?: number; sample: number; recordFile?: string };
  /** Present with `--dashboard`. */
  dashboard?: { port: number; host: string };
  plotFile?: string;
}

export const RUN_DEFAULTS = {
  parts: 1,
  frames: 6,
  offset: 0,
  video: 'sintel-1k',
  bucket: DEFAULT_BUCKET,
  inFormat: 'png16',
  port: 13579,
  functionName: 'png2y4m',
  regions: ['us-east-1'],
  spares: 0,
  launcher: 'local' as LauncherKind,
  answerTimeoutS: 120,
  arrivalTimeoutS: 120,
  helloTimeoutMs: 10_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  launchConcurrency: 64,
  inspectPort: 0,
  inspectSample: 8,
} as const;

function integer(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number of seconds, got ${value}`);
  return value;
}

export function compileRunOptions(options: RunOptions): CompiledRunOptions {
  const launcher = options.launcher ?? RUN_DEFAULTS.launcher;
  if (!LAUNCHER_KINDS.includes(launcher)) throw new ConfigError(`--launcher must be one of ${LAUNCHER_KINDS.join(', ')}, got ${launcher}`);
  const tlsFiles = [options.caCert, options.serverCert, options.serverKey].filter((f) => f !== undefined).length;
  if (tlsFiles !== 0 && tlsFiles !== 3) throw new ConfigError('-c, -s and -k go together: give the CA certificate, server certificate and server key');
  const video = options.video ?? RUN_DEFAULTS.video;
  if (video === '' || video.includes('/')) throw new ConfigError(`-v must be a non-empty name without '/', got ${JSON.stringify(video)}`);
  const inFormat = options.inFormat ?? RUN_DEFAULTS.inFormat;
  if (inFormat === '' || inFormat.includes('/')) throw new ConfigError(`-i must be a non-empty name without '/', got ${JSON.stringify(inFormat)}`);
  const frames = integer('-f (frames per chunk)', options.frames ?? RUN_DEFAULTS.frames, 1, 99);
  const detected = options.host === undefined && launcher !== 'local' ? detectHost() : undefined;
  const host = options.host ?? detected?.address ?? '127.0.0.1';
  const compiled: CompiledRunOptions = {
    parts: integer('-n (parts)', options.parts ?? RUN_DEFAULTS.parts, 1, 100_000),
    frames,
    offset: integer('-o (chunk offset)', options.offset ?? RUN_DEFAULTS.offset, 0, 9_999_999),
    video,
    bucket: options.bucket ?? RUN_DEFAULTS.bucket,
    inFormat,
    port: integer('-t (port)', options.port ?? RUN_DEFAULTS.port, 0, 65535),
    host,
    listenHost: launcher === 'local' ? '127.0.0.1' : '0.0.0.0',
    functionName: options.functionName ?? RUN_DEFAULTS.functionName,
    regions: options.regions ?? [...RUN_DEFAULTS.regions],
    tls: { caCert: options.caCert, serverCert: options.serverCert, serverKey: options.serverKey },
    debug: options.debug ?? false,
    timesFile: options.timesFile,
    profileFile: options.profileFile,
    spares: integer('-X (spare workers)', options.spares ?? RUN_DEFAULTS.spares, 0, 100_000),
    killAfterMs: options.killAfterS === undefined ? undefined : positive('-m (kill timeout)', options.killAfterS) * 1000,
    launcher,
    payloadOut: options.payloadOut,
    json: options.json ?? false,
    answerTimeoutMs: positive('--answer-timeout', options.answerTimeoutS ?? RUN_DEFAULTS.answerTimeoutS) * 1000,
    arrivalTimeoutMs: arrivalTimeoutMs(launcher, options.arrivalTimeoutS),
    helloTimeoutMs: RUN_DEFAULTS.helloTimeoutMs,
    maxFrameBytes: integer('--max-frame-bytes', options.maxFrameBytes ?? RUN_DEFAULTS.maxFrameBytes, 1024),
    launchConcurrency: integer('--launch-concurrency', options.launchConcurrency ?? RUN_DEFAULTS.launchConcurrency, 1, 10_000),
    s3Endpoint: options.s3Endpoint,
    lambdaEndpoint: options.lambdaEndpoint,
    hashKeys: options.hashKeys ?? false,
    hostNote: detected?.note,
    quiet: options.quiet ?? false,
    inspect:
      options.inspect || options.inspectRecord !== undefined
        ? {
            ...(options.inspect ? { port: integer('--inspect-port', options.inspectPort ?? RUN_DEFAULTS.inspectPort, 0, 65535) } : {}),
            sample: integer('--inspect-sample', options.inspectSample ?? RUN_DEFAULTS.inspectSample, 0, 100_000),
            ...(options.inspectRecord === undefined ? {} : { recordFile: options.inspectRecord }),
          }
        : undefined,
    dashboard:
      options.dashboardPort === undefined
        ? undefined
        : { port: integer('--dashboard (port)', options.dashboardPort, 0, 65535), host: options.dashboardHost ?? '127.0.0.1' },
    plotFile: options.plotFile,
  };
  if (options.plotFile !== undefined) plotFormat(options.plotFile);
  if (!options.inspect && (options.inspectPort !== undefined || options.inspectSample !== undefined) && options.inspectRecord === undefined) {
    throw new ConfigError('--inspect-port and --inspect-sample go with --inspect or --inspect-record');
  }
  if (options.dashboardHost !== undefined && options.dashboardPort === undefined) throw new ConfigError('--dashboard-host goes with --dashboard');
  if (launcher === 'none' && compiled.payloadOut === undefined) {
    throw new ConfigError('--launcher none needs --payload-out FILE (where to write the payload for workers started by hand)');
  }
  return compiled;
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

function arrivalTimeoutMs(launcher: LauncherKind, seconds: number | undefined): number | undefined {
  if (seconds === 0) return undefined;
  if (seconds === undefined) return launcher === 'none' ? undefined : RUN_DEFAULTS.arrivalTimeoutS * 1000;
  return positive('--arrival-timeout', seconds) * 1000;
}
