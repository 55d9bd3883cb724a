/**
 * A pool of one `node:worker_threads` thread that runs a tool's `main` for the worker, so the
 * tool keeps its optimised code and caches from one `run:` to the next and the worker's event
 * loop keeps serving (background jobs, the idle timer, protocol errors) while it works.
 *
 * Failure policy: a thread that cannot start (its entry file missing or broken, no `ready` in
 * time) costs nothing: {@link ToolThread.run} resolves undefined, the caller runs the command as a
 * process, and this pool stays `broken` (never tried again). A thread that dies or is killed
 * during a run answers that run like a failed process (RETVAL 1 and a one-line reason); the next
 * run starts a new thread. A busy thread is not waited for: `run` resolves undefined at once.
 */
import { constants } from 'node:os';
import { Worker } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { describeError } from '../common/errors.js';
import type { ShellResult } from './runShell.js';

/** Main thread -> tool thread: one invocation, as the process would have received it. */
export interface ToolThreadRequest {
  id: number;
  /** argv[0] first, the program name as the shell gives it. */
  argv: string[];
  /** The working folder relative names are resolved against. */
  cwd: string;
  /** The part of the environment the tool reads. */
  env: Record<string, string>;
  /** Keep at most this many bytes of output, the last ones (like the shell path). */
  maxOutputBytes: number;
}

/** Tool thread -> main thread. */
export type ToolThreadMessage = { kind: 'ready' } | { kind: 'done'; id: number; code: number; output: string };

/** `stopped`: no thread (none yet, or the last one ended); `broken`: could not start one. */
export type ToolThreadState = 'stopped' | 'starting' | 'idle' | 'busy' | 'broken' | 'closed';

export interface ToolThreadStatus {
  state: ToolThreadState;
  /** Threads started so far (a crash makes the next run start another). */
  threadsStarted: number;
  /** Runs answered by a thread, failed ones included. */
  runs: number;
  /** Runs ended by the thread dying under them. */
  crashes: number;
}

export interface ToolThreadOptions {
  /** Thread name (shown in inspectors and heap snapshots) and tool name in failure messages. */
  name: string;
  /** Give up on a thread that has not said `ready` after this long (default 30 000 ms). */
  startTimeoutMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

export const DEFAULT_TOOL_THREAD_START_TIMEOUT_MS = 30_000;

/** Exit status of a run stopped by its abort signal (as for a process killed with SIGKILL). */
export const KILLED_CODE = -constants.signals.SIGKILL;

/** Exit status of a run whose thread died under it. */
export const THREAD_FAILED_CODE = 1;

/**
 * One lazily started tool thread.
 *
 * @example
 * const thread = new ToolThread(new URL('./png2y4mThread.js', import.meta.url), { name: 'png2y4m' });
 * const result = await thread.run({ argv: ['png2y4m', '-o', 'o.y4m', 'in.png'], cwd, env: {}, maxOutputBytes: 65536 });
 * // { code: 0, output: '1 frames, 1024x436\n' }, or undefined: run it as a process instead
 * await thread.close();
 */
export class ToolThread {
  private worker: Worker | undefined;
  private starting: Promise<Worker | undefined> | undefined;
  private busy = false;
  private broken = false;
  private closed = false;
  private nextId = 0;
  private readonly counts = { threadsStarted: 0, runs: 0, crashes: 0 };
  private readonly log: Logger;
  private readonly startTimeoutMs: number;

  constructor(
    private readonly entry: URL,
    private readonly options: ToolThreadOptions,
  ) {
    this.log = options.logger ?? pino({ level: 'silent' });
    this.startTimeoutMs = options.startTimeoutMs ?? DEFAULT_TOOL_THREAD_START_TIMEOUT_MS;
  }

  get state(): ToolThreadState {
    if (this.closed) return 'closed';
    if (this.broken) return 'broken';
    if (this.busy) return this.worker ? 'busy' : 'starting';
    return this.worker ? 'idle' : 'stopped';
  }

  status(): ToolThreadStatus {
    return { state: this.state, ...this.counts };
  }

  /**
   * Run one invocation in the thread. Resolves undefined when it was not run at all (busy, closed,
   * broken, or the thread failed to start): the caller then runs it as a process.
   */
  async run(request: Omit<ToolThreadRequest, 'id'>, signal?: AbortSignal): Promise<ShellResult | undefined> {
    if (this.closed || this.broken || this.busy) return undefined;
    this.busy = true;
    let worker: Worker | undefined;
    try {
      worker = this.worker ?? (await this.start());
      if (!worker || this.closed) return undefined;
      if (signal?.aborted) return { code: KILLED_CODE, output: '' };
      worker.ref();
      return await this.exchange(worker, { ...request, id: ++this.nextId }, signal);
    } finally {
      this.busy = false;
      // An idle thread must never keep the worker process alive.
      if (worker && this.worker === worker) worker.unref();
    }
  }

  /** Start the thread now, ahead of the first run; it never keeps the worker process alive. */
  prestart(): void {
    if (this.closed || this.broken || this.worker) return;
    void this.start().then((worker) => {
      if (worker && !this.busy) worker.unref();
    });
  }

  /** Terminate the thread (a running invocation is killed); runs are refused from now on. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker ?? (await this.starting);
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Promise<Worker | undefined> {
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private spawn(): Promise<Worker | undefined> {
    return new Promise((resolve) => {
      let worker: Worker;
      try {
        // No node flags from the parent: they are the parent's (a `--input-type` given with `-e`,
        // as Lambda-like runtimes do, makes a thread fail to start at all).
        worker = new Worker(this.entry, { name: this.options.name, stdin: false, execArgv: [] });
      } catch (error) {
        this.giveUp(`cannot start the ${this.options.name} thread: ${describeError(error)}`);
        resolve(undefined);
        return;
      }
      this.counts.threadsStarted++;
      // Always listened to: an unheard 'error' event would take the whole worker process down.
      worker.on('error', (error) => this.log.warn({ tool: this.options.name, err: describeError(error) }, 'tool thread error'));
      worker.on('exit', () => {
        if (this.worker === worker) this.worker = undefined;
      });
      const settle = (ok: boolean, why?: string) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (ok && !this.closed) {
          this.worker = worker;
          resolve(worker);
          return;
        }
        if (!ok) this.giveUp(`the ${this.options.name} thread did not start: ${why}`);
        void worker.terminate();
        resolve(undefined);
      };
      const onMessage = (message: ToolThreadMessage) => {
        if (message.kind === 'ready') settle(true);
      };
      const onError = (error: Error) => settle(false, describeError(error));
      const onExit = (code: number) => settle(false, `it exited with code ${code}`);
      const timer = setTimeout(() => settle(false, `no ready message after ${this.startTimeoutMs} ms`), this.startTimeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  private giveUp(why: string): void {
    this.broken = true;
    this.log.warn({ tool: this.options.name, why }, 'tool thread unavailable: running the tool as a process');
  }

  private exchange(worker: Worker, request: ToolThreadRequest, signal: AbortSignal | undefined): Promise<ShellResult> {
    return new Promise((resolve) => {
      let lastError: unknown;
      let aborted = false;
      const finish = (result: ShellResult) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        this.counts.runs++;
        resolve(result);
      };
      const onMessage = (message: ToolThreadMessage) => {
        if (message.kind === 'done' && message.id === request.id) finish({ code: message.code, output: message.output });
      };
      const onError = (error: unknown) => {
        lastError = error;
      };
      const onExit = (exitCode: number) => {
        if (this.worker === worker) this.worker = undefined;
        if (aborted) {
          finish({ code: KILLED_CODE, output: '' });
          return;
        }
        this.counts.crashes++;
        const why = lastError !== undefined ? describeError(lastError) : `thread exited with code ${exitCode}`;
        this.log.warn({ tool: this.options.name, why }, 'tool thread died during a run');
        finish({ code: THREAD_FAILED_CODE, output: `${request.argv[0] ?? this.options.name}: in-process run failed: ${why}\n` });
      };
      const onAbort = () => {
        aborted = true;
        void worker.terminate();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage(request);
    });
  }
}
