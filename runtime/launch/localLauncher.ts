/**
 * Local launcher: each worker is a child process running the same worker code as on Lambda
 * (`node bin/xc-orch.js worker --event -`), its invocation payload on stdin so that the worker's
 * key never shows in a process listing. Children inherit the environment; their stdout is
 * ignored and the tail of their stderr is kept to explain a worker that died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { ConfigError, describeError } from '../../common/errors.js';
import { forEachBounded, invocationPayload, type Launcher, type LaunchReport, type LaunchRequest } from './launcher.js';
import { packageBinDir } from '../../common/packagePaths.js';

export interface LocalLauncherOptions {
  /** Spawns in flight at once. Default 16 (each child costs a Node start-up on this machine's cores). */
  concurrency?: number;
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
 * const launcher = createLocalLauncher({ concurrency: 8 });
 * await launcher.launch(requests, (report) => log.info(report));
 * await launcher.stop(); // SIGTERM, then SIGKILL, for workers still running
 */
export function createLocalLauncher(options: LocalLauncherOptions = {}): Launcher {
  return new LocalLauncher(compile(options));
}

class LocalLauncher implements Launcher {
  private readonly running = new Set<{ child: ChildProcess; gone: Promise<void> }>();
  private stopping = false;

  constructor(private readonly options: CompiledLocalOptions) {}

  async launch(requests: LaunchRequest[], report: (report: LaunchReport) => void): Promise<void> {
    await forEachBounded(
      requests,
      this.options.concurrency,
      (request) => this.start(request, report),
      () => this.stopping,
      (request) => report({ type: 'failed', invocation: request.invocation, reason: 'launcher stopped' }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
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

  /** Resolves once the child has started (reported `accepted`) or could not be (`failed`). */
  private start(request: LaunchRequest, report: (report: LaunchReport) => void): Promise<void> {
    const { invocation } = request;
    const { file, args } = this.options.command;
    return new Promise<void>((started) => {
      let child: ChildProcess;
      try {
        child = spawn(file, args, { env: this.options.env, stdio: ['pipe', 'ignore', 'pipe'] });
      } catch (error) {
        report({ type: 'failed', invocation, reason: `cannot start worker: ${describeError(error)}` });
        started();
        return;
      }
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
      child.once('spawn', () => {
        spawned = true;
        child.stdin?.end(invocationPayload(request));
        report({ type: 'accepted', invocation });
        if (this.stopping) child.kill('SIGTERM');
        started();
      });
      child.once('error', (error) => {
        if (spawned) {
          this.options.logger.warn({ invocation, err: describeError(error) }, 'worker process error');
          return;
        }
        this.running.delete(entry);
        report({ type: 'failed', invocation, reason: `cannot start worker: ${describeError(error)}` });
        resolveGone();
        started();
      });
      // 'close' rather than 'exit': stderr is fully read by then, so the tail is complete.
      child.once('close', (code, signal) => {
        if (!spawned) return;
        this.running.delete(entry);
        report({ type: 'exited', invocation, code, signal, detail: tail.text() });
        resolveGone();
      });
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
  const stderrTailBytes = options.stderrTailBytes ?? 4096;
  if (!Number.isInteger(stderrTailBytes) || stderrTailBytes < 1) throw new ConfigError(`stderrTailBytes must be a positive integer (got ${stderrTailBytes})`);
  return {
    concurrency,
    command: options.command ?? defaultWorkerCommand(),
    env: options.env ?? process.env,
    stderrTailBytes,
    killGraceMs: options.killGraceMs ?? 2_000,
    logger: options.logger ?? pino({ level: 'silent' }),
  };
}
