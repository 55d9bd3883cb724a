/**
 * The coordinator of one job run: a TLS server that admits workers, one supervisor actor that
 * launches them and binds each connection to a chunk, and one root actor per connection running
 * the job's machine. It is given the job (machine, chunks, worker needs) and never imports one.
 * Everything here is wiring and reporting: decisions live in the pure machines.
 *
 * Per message the work is O(1): a frame is decoded on its own connection and sent to that
 * connection's actor; state changes update one cell of the status and notify the observers.
 *
 * @example
 * const coordinator = await Coordinator.create(compileRunOptions({ port: 0 }), job, { store, log });
 * const summary = await coordinator.run();
 */
import { createActor, fromCallback, type Actor, type AnyStateMachine } from 'xstate';
import type { Logger } from 'pino';
import { supervisorMachine, type SupervisorOutput } from '../../machines/supervisor.js';
import type { ConnectionOutput } from '../../machines/events.js';
import { loadCredentials, type LoadedCredentials } from '../tls/credentials.js';
import { ConfigError, IllegalStateError, describeError } from '../../common/errors.js';
import type { Launcher, LaunchReport, LaunchRequest } from '../launch/launcher.js';
import { createLocalLauncher } from '../launch/localLauncher.js';
import { createNoneLauncher } from '../launch/noneLauncher.js';
import type { CompiledRunOptions } from './runOptions.js';
import type { JobStatus } from '../observe/statusDisplay.js';
import type { ObjectStore } from '../../store/store.js';
import type { JobInspection, JobObserver } from '../observe/jobObserver.js';
import { createWorkerServer, type WorkerConnection, type WorkerServer } from './workerServer.js';
import { startRelay, type Relay, type RelayStatus } from '../relay/relayServer.js';
import { CoarseClock } from './coarseClock.js';
import type { WorkerEvent } from '../../worker/event.js';

/** What the coordinator needs of a job, its plan already made (runJob builds it). */
export interface CoordinatorJob {
  name: string;
  /** The per-connection machine; started once per chunk with that chunk's input. */
  machine: AnyStateMachine;
  /** Chunk i is reported as `firstChunk + i`. */
  firstChunk: number;
  /** Per chunk: the machine's input (the answer timeout is added) and its outputs as stored. */
  chunks: ReadonlyArray<{ input: object; outputs: readonly string[] }>;
  /** The command of a bare `run:` and mu's nonblock flag, for the workers' payload. */
  command?: string;
  nonblock: boolean;
  /** Work items per chunk (frames), for the summary line. */
  units?: { name: string; perChunk: number };
  /** The workers talk to each other through a relay (the job's `relay`). Default false. */
  relay?: boolean;
}

/** The relay of a job with peer links: where its workers dial it, and whose it is. */
export interface RunRelay {
  host: string;
  port: number;
  /** True when this coordinator runs it; false for `-H/-T`. */
  embedded: boolean;
}

export type CoordinatorState = 'created' | 'running' | 'finishing' | 'closed';

/**
 * One chunk's end. Vocabulary (README): a chunk is a piece of the plan; an invocation is one
 * launch of a worker (0 .. chunks+spares-1); a connection is a worker that said hello (numbered
 * in arrival order); an attempt is one connection's run of a chunk (one per chunk for now).
 */
export interface ChunkResult {
  chunk: number;
  status: 'done' | 'failed' | 'missing' | 'skipped';
  reason?: string;
  /** The last state of the chunk's machine, for chunks that did not finish. */
  state?: string;
  /** The connection that had the chunk. */
  connection?: number;
  /** The invocation that connection came from (absent for workers started by hand). */
  invocation?: number;
  /** Every output key of the chunk, as stored (hashed with `-M`). */
  outputs: string[];
  /** Where each output is (or would be), for people: a file path or `s3://bucket/key`. */
  locations: string[];
}

export interface JobSummary {
  ok: boolean;
  job: string;
  /** Number of chunks. */
  parts: number;
  units?: { name: string; perChunk: number };
  seconds: number;
  store: string;
  chunks: ChunkResult[];
  launchFailures: Array<{ invocation: number; reason: string }>;
  /** Local workers that exited abnormally, with the tail of their stderr. */
  workerExits: Array<{ invocation: number; code: number | null; signal: string | null; detail: string }>;
  /** For a job with peer links: its relay, with the embedded relay's counts as the job ended. */
  relay?: RunRelay & { status?: RelayStatus };
  /** The job's after-run step (runJob), when it had one to do: what it did or why it failed. */
  after?: { ok: boolean; line: string; outputs: string[] };
}

export interface CoordinatorDeps {
  store: ObjectStore;
  log: Logger;
  /** Told about every state entry, worker end, frame and launch report (timeline, dashboard). */
  observers?: JobObserver[];
  /** XState inspection of the supervisor and of sampled worker machines. */
  inspection?: JobInspection;
  /** Overrides the launcher chosen by options (tests, Lambda). */
  launcher?: Launcher;
}

type ChunkActor = Actor<AnyStateMachine>;

export class Coordinator {
  private state: CoordinatorState = 'created';
  private readonly startedAt = performance.now();
  private readonly chunkStates: Array<string | undefined>;
  private readonly chunkFailed: boolean[];
  private readonly connections = new Map<number, WorkerConnection>();
  private readonly actors = new Map<number, ChunkActor>();
  private readonly exits: JobSummary['workerExits'] = [];
  /** Invocations whose worker said hello (a later exit is then not a failed launch). */
  private readonly arrived = new Set<number>();
  /** Every connection actor's answer deadlines, on one timer. */
  private readonly clock = new CoarseClock();
  private supervisor: Actor<typeof supervisorMachine> | undefined;
  private launched = 0;
  private active = 0;
  private done = 0;
  private failed = 0;

  private constructor(
    private readonly options: CompiledRunOptions,
    private readonly job: CoordinatorJob,
    private readonly deps: Required<Pick<CoordinatorDeps, 'store' | 'log' | 'observers' | 'inspection'>>,
    private readonly server: WorkerServer,
    private readonly launcher: Launcher,
    private readonly events: (invocation: number | undefined) => WorkerEvent,
    private readonly relay: { address: RunRelay; server?: Relay } | undefined,
  ) {
    this.chunkStates = new Array<string | undefined>(job.chunks.length).fill(undefined);
    this.chunkFailed = new Array<boolean>(job.chunks.length).fill(false);
  }

  /** Load credentials, start listening and prepare the launcher; no worker is launched yet. */
  static async create(options: CompiledRunOptions, job: CoordinatorJob, deps: CoordinatorDeps): Promise<Coordinator> {
    const credentials = await loadCredentials(options.tls, options.env);
    let coordinator: Coordinator | undefined;
    const server = await listenOrExplain(options, () =>
      createWorkerServer({
        host: options.listenHost,
        port: options.port,
        credentials,
        maxFrameBytes: options.maxFrameBytes,
        backlog: Math.max(1024, job.chunks.length + options.spares),
        logger: deps.log,
        onHello: (connection) => coordinator?.onHello(connection),
      }),
    );
    const port = server.address().port;
    let relay: { address: RunRelay; server?: Relay } | undefined;
    try {
      relay = job.relay ? await openRelay(options, credentials, deps.log) : undefined;
    } catch (error) {
      await server.close();
      throw error;
    }
    const events = (invocation: number | undefined): WorkerEvent => ({
      mode: 1,
      addr: options.host,
      port,
      ...(invocation === undefined ? {} : { id: invocation }),
      bucket: deps.store.name,
      region: options.regions[0] ?? 'us-east-1',
      ...(options.s3Endpoint ? { s3endpoint: options.s3Endpoint } : {}),
      cacert: credentials.caCert,
      wrkcert: credentials.workerCert,
      wrkkey: credentials.workerKey,
      srvname: credentials.serverName,
      ...(job.command === undefined ? {} : { command: job.command }),
      nonblock: job.nonblock ? 1 : 0,
      bg_silent: 0,
      rm_tmpdir: 1,
      hash_s3keys: options.hashKeys ? 1 : 0,
      ...(relay ? { state_wait_s: options.stateWaitMs / 1000 } : {}),
    });
    let launcher: Launcher;
    try {
      launcher = deps.launcher ?? (await chooseLauncher(options, deps.log, events(undefined)));
    } catch (error) {
      await Promise.allSettled([server.close(), relay?.server?.close()]);
      throw error;
    }
    const observing = { store: deps.store, log: deps.log, observers: deps.observers ?? [], inspection: deps.inspection ?? {} };
    coordinator = new Coordinator(options, job, observing, server, launcher, events, relay);
    return coordinator;
  }

  /** The address workers dial, as listening (port resolved when `-t 0`). */
  address(): { host: string; port: number } {
    return { host: this.options.host, port: this.server.address().port };
  }

  /** Where the workers of a job with peer links dial the relay (undefined for other jobs). */
  relayAddress(): RunRelay | undefined {
    return this.relay && { ...this.relay.address };
  }

  status(): JobStatus {
    const relay = this.relay?.server;
    return {
      ...(relay ? { relay: relay.status() } : {}),
      elapsedMs: performance.now() - this.startedAt,
      parts: this.job.chunks.length,
      launched: this.launched,
      waiting: this.job.chunks.length - this.active - this.done - this.failed,
      active: this.active,
      done: this.done,
      failed: this.failed,
      chunkStates: this.chunkStates,
      chunkFailed: this.chunkFailed,
    };
  }

  /**
   * Stop the job now (Ctrl-C): the supervisor ends, workers still connected are told to quit, and
   * the summary reports running and missing chunks with `reason`. No effect once the job is over.
   */
  cancel(reason: string): void {
    if (this.state === 'running') this.supervisor?.send({ type: 'job.cancel', reason });
  }

  /** Launch the workers, drive them to the end and return the job's summary. Runs once. */
  async run(): Promise<JobSummary> {
    if (this.state !== 'created') throw new IllegalStateError(`coordinator.run(): the coordinator is already ${this.state}; it runs once`);
    this.state = 'running';
    const { spares, killAfterMs, arrivalTimeoutMs } = this.options;
    const parts = this.job.chunks.length;
    const launcherActor = fromCallback<{ type: string }, { invocations: number[] }>(({ sendBack, input }) => {
      const requests: LaunchRequest[] = input.invocations.map((invocation) => ({ invocation, event: this.events(invocation) }));
      this.launcher
        .launch(requests, (report) => this.onLaunchReport(report, sendBack))
        .catch((error: unknown) => {
          for (const { invocation } of requests) sendBack({ type: 'launch.failed', invocation, reason: describeError(error) });
        });
    });
    const supervisor = createActor(supervisorMachine.provide({ actors: { launcher: launcherActor } }), {
      input: {
        parts,
        spares,
        ...(killAfterMs === undefined ? {} : { killAfterMs }),
        ...(arrivalTimeoutMs === undefined ? {} : { arrivalTimeoutMs }),
      },
      ...(this.deps.inspection.supervisor ? { inspect: this.deps.inspection.supervisor } : {}),
    });
    this.supervisor = supervisor;
    const finished = new Promise<SupervisorOutput>((resolve, reject) => {
      supervisor.subscribe({
        complete: () => resolve(supervisor.getSnapshot().output as SupervisorOutput),
        error: (error) => reject(error),
      });
    });
    supervisor.on('worker.admitted', ({ connection, chunk }) => this.admit(connection, chunk));
    supervisor.on('worker.rejected', ({ connection, reason }) => this.reject(connection, reason));
    supervisor.start();
    let output: SupervisorOutput;
    try {
      output = await finished;
    } finally {
      this.state = 'finishing';
      await this.shutdown();
    }
    return this.summarise(output);
  }

  private onLaunchReport(report: LaunchReport, sendBack: (event: { type: string } & Record<string, unknown>) => void): void {
    for (const o of this.deps.observers) o.launch?.(report);
    switch (report.type) {
      case 'accepted':
        this.launched++;
        sendBack({ type: 'launch.accepted', invocation: report.invocation });
        break;
      case 'failed':
        this.deps.log.warn({ invocation: report.invocation, reason: report.reason }, 'launch failed');
        sendBack({ type: 'launch.failed', invocation: report.invocation, reason: report.reason });
        break;
      case 'exited': {
        // Once the job is over, workers stopped by the launcher are not failures.
        if (this.state !== 'running') break;
        const how = report.signal ? `signal ${report.signal}` : `code ${report.code}`;
        if (!this.arrived.has(report.invocation)) {
          // It will never say hello: without this the supervisor would wait for it forever.
          const reason = `worker process exited with ${how} before connecting${report.detail ? `: ${report.detail}` : ''}`;
          sendBack({ type: 'launch.failed', invocation: report.invocation, reason });
        } else if (report.code !== 0) {
          this.exits.push({ invocation: report.invocation, code: report.code, signal: report.signal, detail: report.detail });
          this.deps.log.debug({ invocation: report.invocation, code: report.code, signal: report.signal }, 'worker process exited');
        }
        break;
      }
    }
  }

  private onHello(connection: WorkerConnection): void {
    if (this.state !== 'running' || !this.supervisor) {
      connection.send('quit:');
      connection.close();
      return;
    }
    this.connections.set(connection.id, connection);
    if (connection.invocation !== undefined) this.arrived.add(connection.invocation);
    this.supervisor.send({ type: 'worker.hello', connection: connection.id, invocation: connection.invocation });
  }

  private reject(connectionId: number, reason: string): void {
    const connection = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    this.deps.log.debug({ connection: connectionId, reason }, 'worker told to quit');
    connection?.send('quit:');
    connection?.close();
  }

  private admit(connectionId: number, chunk: number): void {
    const connection = this.connections.get(connectionId);
    if (!connection) return;
    const offset = this.job.firstChunk;
    const inspect = this.deps.inspection.worker?.(offset + chunk);
    const actor: ChunkActor = createActor(this.job.machine, {
      input: {
        ...this.job.chunks[chunk]!.input,
        answerTimeoutMs: this.options.answerTimeoutMs,
        ...(this.relay ? { relay: { host: this.relay.address.host, port: this.relay.address.port }, stateWaitMs: this.options.stateWaitMs } : {}),
      },
      clock: this.clock,
      ...(inspect ? { inspect } : {}),
    });
    this.actors.set(connectionId, actor);
    this.active++;
    let ended = false;
    let last = '';
    const observers = this.deps.observers;
    actor.on('worker.command', ({ text }) => {
      for (const o of observers) o.workerMessage?.(connectionId, 'out', text);
      connection.send(text);
    });
    connection.onMessage((text) => {
      for (const o of observers) o.workerMessage?.(connectionId, 'in', text);
      if (!ended) actor.send({ type: 'socket.message', text });
    });
    connection.onClose((reason) => {
      if (!ended) actor.send({ type: 'socket.closed', reason });
    });
    const finish = (status: 'done' | 'failed', reason?: string, state?: string) => {
      this.active--;
      if (status === 'done') {
        this.done++;
        this.chunkStates[chunk] = 'done';
        for (const o of this.deps.observers) o.workerEnded?.(connectionId, offset + chunk, 'done');
        this.supervisor?.send({ type: 'worker.finished', connection: connectionId, chunk });
      } else {
        this.failed++;
        this.chunkFailed[chunk] = true;
        this.chunkStates[chunk] = state ?? last;
        for (const o of this.deps.observers) o.workerEnded?.(connectionId, offset + chunk, 'failed', reason ?? 'unknown');
        this.supervisor?.send({ type: 'worker.failed', connection: connectionId, chunk, reason: reason ?? 'unknown', state: state ?? last });
      }
    };
    const end = (status: 'done' | 'failed', reason?: string, state?: string) => {
      if (ended) return;
      ended = true;
      this.actors.delete(connectionId);
      this.connections.delete(connectionId);
      // The machine sent `quit:` itself on success; after a failure, tell the worker to go too.
      if (status === 'failed') connection.send('quit:');
      connection.close();
      if (status === 'failed') return finish('failed', reason, state);
      // An `OK:UPLOAD` is not believed: the chunk is done once its outputs are in the store.
      void this.missingOutput(chunk).then((missing) => {
        if (this.state !== 'running') return;
        if (missing === undefined) finish('done');
        else finish('failed', missing, last);
      });
    };
    actor.subscribe({
      next: (snapshot) => {
        // The final state is reported once, by `end`, with its outcome.
        if (snapshot.status !== 'active') return;
        const name = stateName(snapshot.value);
        if (name === last) return;
        last = name;
        this.chunkStates[chunk] = name;
        for (const o of this.deps.observers) o.workerState?.(connectionId, offset + chunk, name);
      },
      complete: () => {
        const output = actor.getSnapshot().output as ConnectionOutput | undefined;
        if (output?.status === 'done') end('done');
        else end('failed', output?.reason ?? 'machine ended without output', output?.state);
      },
      // An actor error nobody subscribes to would crash the process; here it fails one chunk.
      error: (error) => end('failed', `internal error: ${describeError(error)}`, last),
    });
    actor.start();
  }

  private async shutdown(): Promise<void> {
    for (const actor of this.actors.values()) actor.stop();
    this.actors.clear();
    for (const connection of this.connections.values()) {
      connection.send('quit:');
      connection.close();
    }
    this.connections.clear();
    this.supervisor?.stop();
    // The relay closes with the job; its counts stay readable for the summary.
    await Promise.allSettled([this.launcher.stop(), this.server.close(), this.relay?.server?.close(), ...this.deps.observers.map((o) => o.close?.())]);
    this.state = 'closed';
  }

  /** Why the chunk's outputs do not count as written (undefined: every one is in the store). */
  private async missingOutput(chunk: number): Promise<string | undefined> {
    for (const key of this.job.chunks[chunk]!.outputs) {
      try {
        if (!(await this.deps.store.exists(key))) return `the worker reported success but output ${key} is not in ${this.deps.store.name}`;
      } catch (error) {
        return `cannot check output ${key} in ${this.deps.store.name}: ${describeError(error)}`;
      }
    }
    return undefined;
  }

  private summarise(output: SupervisorOutput): JobSummary {
    const offset = this.job.firstChunk;
    return {
      ok: output.ok,
      job: this.job.name,
      parts: this.job.chunks.length,
      ...(this.job.units ? { units: this.job.units } : {}),
      seconds: Math.round(performance.now() - this.startedAt) / 1000,
      store: this.deps.store.name,
      chunks: output.chunks.map((c) => {
        const outputs = [...this.job.chunks[c.chunk]!.outputs];
        // A chunk stopped while running (-m, Ctrl-C) keeps the state it was in.
        const state = c.state ?? (c.status === 'failed' ? this.chunkStates[c.chunk] : undefined);
        return {
          ...c,
          ...(state === undefined ? {} : { state }),
          chunk: offset + c.chunk,
          outputs,
          locations: outputs.map((key) => this.deps.store.locationOf(key)),
        };
      }),
      launchFailures: output.launchFailures,
      workerExits: this.exits,
      ...(this.relay ? { relay: { ...this.relay.address, ...(this.relay.server ? { status: this.relay.server.status() } : {}) } } : {}),
    };
  }
}

/** Turn the usual reasons a port cannot be listened on into advice. */
async function listenOrExplain<T>(options: CompiledRunOptions, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${options.listenHost}:${options.port}`;
    if (code === 'EADDRINUSE') {
      throw new ConfigError(`port ${options.port} is already in use (${where}; another coordinator?): choose another with -t PORT, or -t 0 for any free port`);
    }
    if (code === 'EACCES') throw new ConfigError(`not allowed to listen on ${where}: choose a port above 1023 with -t PORT`);
    throw error;
  }
}

/**
 * The relay a job with peer links uses: `-H/-T`'s, or one started here on the address the
 * coordinator listens on, presenting the server certificate and admitting the run's workers.
 */
async function openRelay(options: CompiledRunOptions, credentials: LoadedCredentials, log: Logger): Promise<{ address: RunRelay; server?: Relay }> {
  if (options.relay.kind === 'external') return { address: { host: options.relay.host, port: options.relay.port, embedded: false } };
  const { caCert, serverCert, serverKey } = credentials;
  let server: Relay;
  try {
    server = await startRelay({ credentials: { caCert, serverCert, serverKey }, host: options.listenHost, port: options.relay.port, logger: log.child({ component: 'relay' }) });
  } catch (error) {
    const code = ((error as { cause?: NodeJS.ErrnoException }).cause ?? {}).code;
    const where = `${options.listenHost}:${options.relay.port}`;
    if (code === 'EADDRINUSE') throw new ConfigError(`the relay's port ${options.relay.port} is already in use (${where}): choose another with -T PORT, or leave -T out for any free port`, { cause: error });
    if (code === 'EACCES') throw new ConfigError(`not allowed to listen on ${where} for the relay: choose a port above 1023 with -T PORT`, { cause: error });
    throw error;
  }
  return { address: { host: options.host, port: server.address().port, embedded: true }, server };
}

async function chooseLauncher(options: CompiledRunOptions, log: Logger, payload: WorkerEvent): Promise<Launcher> {
  switch (options.launcher) {
    case 'none':
      return createNoneLauncher({ payloadFile: options.payloadOut!, payload, logger: log });
    case 'lambda': {
      // The AWS SDK's signer and credential chain load only for Lambda runs.
      const { createLambdaLauncher, formatLaunchSummary } = await import('../launch/lambdaLauncher.js');
      return createLambdaLauncher({
        functionName: options.functionName,
        functionCopies: options.functionCopies,
        regions: options.regions,
        endpoint: options.lambdaEndpoint,
        concurrency: options.launchConcurrency,
        logger: log,
        onSummary: (summary) => {
          if (!options.quiet) process.stderr.write(`${formatLaunchSummary(summary)}\n`);
        },
      });
    }
    case 'local':
      return createLocalLauncher({ concurrency: options.launchConcurrency, logger: log });
  }
}

/** Flatten an XState state value to a dotted path: `{ loop: 'retrieve' }` -> `loop.retrieve`. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([key, child]) => {
      const rest = stateName(child);
      return rest === '' ? key : `${key}.${rest}`;
    });
    return parts.length === 1 ? parts[0]! : `(${parts.join('|')})`;
  }
  return '';
}
