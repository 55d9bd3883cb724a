/**
 * Local launcher: a pool of worker processes, each running the same worker code as on Lambda
 * (`node bin/xc-orch.js worker --event -`), its invocation payload on stdin so that the worker's
 * key never shows in a process listing. At most `maxAlive` are alive at once (each costs a Node
 * process, ~90 MB): the rest wait in order and start as others end, so a job of any size runs in
 * bounded memory. Children inherit the environment; their stdout is ignored and the tail of their
 * stderr is kept to explain a worker that died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { ConfigError, describeError } from '../../common/errors.js';
import { invocationPayload, type Launcher, type LaunchReport, type LaunchRequest } from './launcher.js';
import { packageBinDir } from '../../common/packagePaths.js';

export interface LocalLauncherOptions {
  /** Spawns in flight at once. Default 16 (each child costs a Node start-up on this machine's cores). */
  concurrency?: number;
  /**
   * Worker processes alive at once (`--local-workers`); later requests wait for one to end.
   * Default: the CPU cores (`os.availableParallelism()`). Workers that wait for each other (peer
   * links) need it at least as large as the job.
   */
  maxAlive?: number;
  /** Program and arguments of a worker. Default: this Node binary running `bin/xc-orch.js worker --event -`. */
  command?: { file: string; args: string[] };
  /** Environment of the children. Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Bytes of each child's stderr kept for its `exited` report. Default 4096. */
  stderrTailBytes?: number;
  /** On {@link Launcher.stop}, how long children get after SIGTERM before SIGKILL. Default 2 s. */
  killGraceMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

interface CompiledLocalOptions {
  concurrency: number;
  maxAlive: number;
  command: { file: string; args: string[] };
  env: NodeJS.ProcessEnv;
  stderrTailBytes: number;
  killGraceMs: number;
  logger: Logger;
}

/** The worker command the local launcher runs by default. */
export function defaultWorkerCommand(): { file: string; args: string[] } {
  return { file: process.execPath, args: [join(packageBinDir(), 'xc-orch.js'), 'worker', '--event', '-'] };
}

/**
 * @example
 * const launcher = createLocalLauncher({ maxAlive: 8 });
 * await launcher.launch(requests, (report) => log.info(report)); // resolves once every request has started or failed
 * await launcher.stop(); // queued requests fail, running workers get SIGTERM, then SIGKILL
 */
export function createLocalLauncher(options: LocalLauncherOptions = {}): Launcher {
  return new LocalLauncher(compile(options));
}

/** A request waiting for a slot, and how to tell its `launch()` call that it is resolved. */
interface Queued {
  request: LaunchRequest;
  report: (report: LaunchReport) => void;
  settled: () => void;
}

class LocalLauncher implements Launcher {
  private readonly running = new Set<{ child: ChildProcess; gone: Promise<void> }>();
  private readonly queue: Array<Queued | undefined> = [];
  private head = 0;
  /** Children spawned and not yet closed, and spawns not yet answered. */
  private alive = 0;
  private spawning = 0;
  private stopping = false;

  constructor(private readonly options: CompiledLocalOptions) {}

  async launch(requests: LaunchRequest[], report: (report: LaunchReport) => void): Promise<void> {
    const settled = requests.map(
      (request) => new Promise<void>((resolve) => this.queue.push({ request, report, settled: resolve })),
    );
    this.pump();
    await Promise.all(settled);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.pump();
    const children = [...this.running.values()];
    for (const { child } of children) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const { child } of this.running.values()) child.kill('SIGKILL');
    }, this.options.killGraceMs);
    try {
      await Promise.all(children.map(({ gone }) => gone));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Start queued requests while there is room; once stopping, fail them all instead. */
  private pump(): void {
    while (this.head < this.queue.length) {
      if (!this.stopping && (this.alive >= this.options.maxAlive || this.spawning >= this.options.concurrency)) return;
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined; // let it be collected
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      if (this.stopping) {
        next.report({ type: 'failed', invocation: next.request.invocation, reason: 'launcher stopped' });
        next.settled();
      } else this.start(next);
    }
  }

  /** Spawn one worker: `accepted` and `started` once it runs, `failed` if it cannot, `exited` when it ends. */
  private start({ request, report, settled }: Queued): void {
    const { invocation } = request;
    const { file, args } = this.options.command;
    let child: ChildProcess;
    try {
      child = spawn(file, args, { env: this.options.env, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (error) {
      report({ type: 'failed', invocation, reason: `cannot start worker: ${describeError(error)}` });
      settled();
      return;
    }
    this.alive++;
    this.spawning++;
    const tail = new StderrTail(this.options.stderrTailBytes);
    child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
    // A worker that exits before reading its payload breaks the pipe; its exit report says why.
    child.stdin?.on('error', (error) => this.options.logger.debug({ invocation, err: describeError(error) }, 'worker stdin error'));
    let spawned = false;
    let resolveGone!: () => void;
    const gone = new Promise<void>((resolve) => (resolveGone = resolve));
    // Tracked from the start, so that stop() also catches a child whose 'spawn' is still pending.
    const entry = { child, gone };
    this.running.add(entry);
    const ended = () => {
      this.running.delete(entry);
      this.alive--;
      resolveGone();
      this.pump();
    };
    child.once('spawn', () => {
      spawned = true;
      this.spawning--;
      child.stdin?.end(invocationPayload(request));
      report({ type: 'accepted', invocation });
      report({ type: 'started', invocation });
      if (this.stopping) child.kill('SIGTERM');
      settled();
      this.pump();
    });
    child.once('error', (error) => {
      if (spawned) {
        this.options.logger.warn({ invocation, err: describeError(error) }, 'worker process error');
        return;
      }
      this.spawning--;
      report({ type: 'failed', invocation, reason: `cannot start worker: ${describeError(error)}` });
      settled();
      ended();
    });
    // 'close' rather than 'exit': stderr is fully read by then, so the tail is complete.
    child.once('close', (code, signal) => {
      if (!spawned) return;
      report({ type: 'exited', invocation, code, signal, detail: tail.text() });
      ended();
    });
  }
}

/** The last `limit` bytes of a stream, without keeping the rest. */
class StderrTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.byteLength >= this.limit) {
      this.bytes -= this.chunks.shift()!.byteLength;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    const cut = all.byteLength > this.limit;
    const kept = cut ? all.subarray(all.byteLength - this.limit) : all;
    // Cutting may split a UTF-8 sequence; the replacement character marks it, which is fine for a report.
    return `${cut ? '...' : ''}${kept.toString('utf8')}`.trim();
  }
}

function compile(options: LocalLauncherOptions): CompiledLocalOptions {
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`launch concurrency must be a positive integer (got ${concurrency})`);
  const maxAlive = options.maxAlive ?? availableParallelism();
  if (!Number.isInteger(maxAlive) || maxAlive < 1) throw new ConfigError(`local workers must be a positive integer (got ${maxAlive})`);
  const stderrTailBytes = options.stderrTailBytes ?? 4096;
  if (!Number.isInteger(stderrTailBytes) || stderrTailBytes < 1) throw new ConfigError(`stderrTailBytes must be a positive integer (got ${stderrTailBytes})`);
  return {
    concurrency,
    maxAlive,
    command: options.command ?? defaultWorkerCommand(),
    env: options.env ?? process.env,
    stderrTailBytes,
    killGraceMs: options.killGraceMs ?? 2_000,
    logger: options.logger ?? pino({ level: 'silent' }),
  };
}
