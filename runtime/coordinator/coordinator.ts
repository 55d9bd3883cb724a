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
import { createActor, fromCallback, type Actor, type AnyStateMachine, type EventObject } from 'xstate';
import type { Logger } from 'pino';
import { supervisorMachine, type JobRecovery, type LauncherInput, type RecoveryCounts, type SupervisorContext, type SupervisorOutput } from '../../machines/supervisor.js';
import { blockListGet } from '../../machines/blockList.js';
import type { AttemptOutcome, ChunkOutcome, ConnectionOutput, LauncherEvent, SupervisorEvent } from '../../machines/events.js';
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
import { withAnswerDeadline } from './answerDeadline.js';
import type { WorkerEvent } from '../../worker/event.js';
import { DEFAULT_REGION } from '../../worker/parseEvent.js';
import { CostMeter, workerKey } from './costMeter.js';
import { lambdaCost, type RunCost } from './costEstimate.js';

/** What the coordinator needs of a job, its plan already made (runJob builds it). */
export interface CoordinatorJob extends JobRecovery {
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
  /** Chunks (0-based) whose outputs are already in the store (`--resume`): never launched. */
  skipped?: readonly number[];
  /** Its workers link to each other through the relay, so all must be alive at once. */
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

/** One attempt at a chunk, with the seconds its worker ran (see CostMeter). */
export type AttemptResult = AttemptOutcome & { workerSeconds?: number };

/**
 * One chunk's end: the supervisor's outcome, numbered from the job's first chunk, with its outputs.
 * Vocabulary (README): a chunk is a piece of the plan; an invocation is one launch of a worker
 * (0 .. chunks+spares-1, then one more per retry or copy); a connection is a worker that said hello
 * (numbered in arrival order); an attempt is one worker given the chunk.
 */
export interface ChunkResult extends Omit<ChunkOutcome, 'attempts'> {
  /** Every output key of the chunk, as stored (hashed with `-M`). */
  outputs: string[];
  /** Where each output is (or would be), for people: a file path or `s3://bucket/key`. */
  locations: string[];
  attempts: AttemptResult[];
}

/** The supervisor's summary (`ok`, launch failures), with what the run adds: chunk outputs, exits, relay, recovery, cost. */
export interface JobSummary extends Omit<SupervisorOutput, 'chunks'> {
  job: string;
  /** Number of chunks. */
  parts: number;
  units?: CoordinatorJob['units'];
  seconds: number;
  store: string;
  chunks: ChunkResult[];
  /** Local workers that exited abnormally, with the tail of their stderr. */
  workerExits: Array<{ invocation: number; code: number | null; signal: string | null; detail: string }>;
  /** For a job with peer links: its relay, with the embedded relay's counts as the job ended. */
  relay?: RunRelay & { status?: RelayStatus };
  /** The job's after-run step (runJob), when it had one to do: what it did or why it failed. */
  after?: { ok: boolean; line: string; outputs: string[] };
  recovery: RecoveryCounts;
  cost: RunCost;
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
  /** Each chunk's state as last reported; a running chunk's comes from `runningStates`. */
  private readonly chunkStates: Array<string | undefined>;
  /** Per connection at work: its chunk, and its machine's state name (computed when asked, not per answer). */
  private readonly runningStates = new Map<number, { chunk: number; state: () => string }>();
  private readonly chunkFailed: boolean[];
  private readonly connections = new Map<number, WorkerConnection>();
  private readonly actors = new Map<number, ChunkActor>();
  /** Per admitted connection: stop it because another attempt of its chunk won. */
  private readonly cancels = new Map<number, (reason: string) => void>();
  private readonly exits: JobSummary['workerExits'] = [];
  /** Invocations whose worker said hello (a later exit is then not a failed launch). */
  private readonly arrived = new Set<number>();
  /** Every connection's answer deadline, on one timer. */
  private readonly clock = new CoarseClock();
  /** Invocations admitted to a chunk (a duplicate of one that is refused does not end its cost). */
  private readonly admitted = new Set<number>();
  private readonly cost = new CostMeter();
  private supervisor: Actor<typeof supervisorMachine> | undefined;
  private launched = 0;

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
    for (const chunk of job.skipped ?? []) this.chunkStates[chunk] = 'skipped';
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
      region: options.regions[0] ?? DEFAULT_REGION,
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
      launcher = deps.launcher ?? (await chooseLauncher(options, job, deps.log, events(undefined)));
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

  /** Counts are the supervisor's own (O(1) to read), so status, dashboard and summary agree. */
  status(): JobStatus {
    const now = performance.now();
    const parts = this.job.chunks.length;
    const context: SupervisorContext | undefined = this.supervisor?.getSnapshot().context;
    const skipped = context?.skipped ?? this.job.skipped?.length ?? 0;
    const relay = this.relay?.server;
    return {
      ...(relay ? { relay: relay.status() } : {}),
      elapsedMs: now - this.startedAt,
      parts,
      launched: this.launched,
      waiting: context?.counts.waiting ?? parts - skipped,
      active: context?.counts.connected ?? 0,
      done: context?.counts.done ?? 0,
      failed: context?.counts.failed ?? 0,
      skipped,
      recovery: context?.recovery ?? { retries: 0, speculative: 0, cancelled: 0 },
      cost: this.costAt((visit) => visit(this.cost.totalMs(now))),
      chunkStates: this.chunkStatesNow(),
      chunkFailed: this.chunkFailed,
    };
  }

  /** Every chunk's state, running ones as their machines are now. */
  private chunkStatesNow(): ReadonlyArray<string | undefined> {
    if (this.runningStates.size === 0) return this.chunkStates;
    const states = [...this.chunkStates];
    for (const { chunk, state } of this.runningStates.values()) states[chunk] = state();
    return states;
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
    const { spares, killAfterMs, arrivalTimeoutMs, retries, stragglerFactor } = this.options;
    const parts = this.job.chunks.length;
    const launcherActor = fromCallback<EventObject, LauncherInput>(({ sendBack, input, receive }) => {
      const launch = (requests: LaunchRequest[]) =>
        this.launcher
          .launch(requests, (report) => this.onLaunchReport(report, sendBack))
          .catch((error: unknown) => {
            for (const { invocation } of requests) sendBack({ type: 'launch.failed', invocation, reason: describeError(error) });
          });
      void launch(input.invocations.map((invocation) => ({ invocation, event: this.events(invocation) })));
      // Retries and speculative copies go through the same launcher, and so respect its pool.
      receive((event) => {
        if (event.type !== 'launch.request') return;
        const { invocation } = event as LauncherEvent;
        void launch([{ invocation, event: this.events(invocation) }]);
      });
    });
    const supervisor = createActor(supervisorMachine.provide({ actors: { launcher: launcherActor } }), {
      input: {
        parts,
        spares,
        ...(killAfterMs === undefined ? {} : { killAfterMs }),
        ...(arrivalTimeoutMs === undefined ? {} : { arrivalTimeoutMs }),
        retries,
        speculation: !this.options.noSpeculation,
        job: { redoable: this.job.redoable, speculation: this.job.speculation },
        stragglerFactor,
        skipped: this.job.skipped ?? [],
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
    supervisor.on('worker.admitted', ({ connection, chunk, attempt }) => this.admit(connection, chunk, attempt ?? 1));
    supervisor.on('worker.rejected', ({ connection, reason }) => this.reject(connection, reason));
    supervisor.on('worker.cancelled', ({ connection, reason }) => this.cancels.get(connection)?.(reason));
    supervisor.start();
    let output: SupervisorOutput;
    try {
      output = await finished;
    } finally {
      this.state = 'finishing';
      await this.shutdown();
    }
    return this.summarise(output, supervisor.getSnapshot().context.recovery);
  }

  private onLaunchReport(report: LaunchReport, sendBack: (event: { type: string } & Record<string, unknown>) => void): void {
    for (const o of this.deps.observers) o.launch?.(report);
    const key = workerKey(report.invocation, -1);
    switch (report.type) {
      case 'accepted':
        this.launched++;
        this.cost.start(key, performance.now());
        sendBack({ type: 'launch.accepted', invocation: report.invocation });
        break;
      case 'started':
        this.cost.start(key, performance.now());
        sendBack({ type: 'launch.started', invocation: report.invocation });
        break;
      case 'failed':
        this.cost.end(key, performance.now());
        // Once the job is over, the launches the launcher drops as it stops are no news.
        if (this.state === 'running') this.deps.log.warn({ invocation: report.invocation, reason: report.reason }, 'launch failed');
        else this.deps.log.debug({ invocation: report.invocation, reason: report.reason }, 'launch dropped after the job');
        sendBack({ type: 'launch.failed', invocation: report.invocation, reason: report.reason });
        break;
      case 'exited': {
        this.cost.end(key, performance.now());
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

  /**
   * A worker's outcome, for the supervisor while it runs. Once the job is over (done, cancelled,
   * `-m` passed) the connections it closes still end, but their outcomes are only the summary's.
   */
  private report(event: Extract<SupervisorEvent, { type: 'worker.finished' | 'worker.failed' }>): void {
    if (this.supervisor?.getSnapshot().status === 'active') this.supervisor.send(event);
  }

  private reject(connectionId: number, reason: string): void {
    const connection = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    const invocation = connection?.invocation;
    if (invocation === undefined || !this.admitted.has(invocation)) this.cost.end(workerKey(invocation, connectionId), performance.now());
    this.deps.log.debug({ connection: connectionId, reason }, 'worker told to quit');
    connection?.send('quit:');
    connection?.close();
  }

  private admit(connectionId: number, chunk: number, attempt: number): void {
    const connection = this.connections.get(connectionId);
    if (!connection) return;
    const offset = this.job.firstChunk;
    const key = workerKey(connection.invocation, connectionId);
    if (connection.invocation === undefined) this.cost.start(key, performance.now());
    else this.admitted.add(connection.invocation);
    const inspect = this.deps.inspection.worker?.(offset + chunk);
    const actor: ChunkActor = createActor(this.job.machine, {
      input: {
        ...this.job.chunks[chunk]!.input,
        answerTimeoutMs: this.options.answerTimeoutMs,
        ...(this.relay ? { relay: { host: this.relay.address.host, port: this.relay.address.port }, stateWaitMs: this.options.stateWaitMs } : {}),
      },
      ...(inspect ? { inspect } : {}),
    });
    const timed = withAnswerDeadline(actor, this.clock);
    this.actors.set(connectionId, actor);
    // `ended`: the machine is over (or stopped); `cancelled`: another attempt won, nothing more is reported.
    let ended = false;
    let cancelled = false;
    // The last active snapshot; its name is computed only when asked (status, a failure) or for
    // observers that follow states: naming every snapshot cost about 5% of a step.
    let lastActive: { value: unknown } | undefined;
    const stateNow = () => (lastActive === undefined ? '' : stateName(lastActive.value));
    let reported = '';
    const observers = this.deps.observers;
    const followers = observers.filter((o) => o.workerState !== undefined);
    this.runningStates.set(connectionId, { chunk, state: stateNow });
    for (const o of observers) o.workerAdmitted?.(connectionId, offset + chunk, attempt);
    timed.on('worker.command', ({ text }) => {
      for (const o of observers) o.workerMessage?.(connectionId, 'out', text);
      connection.send(text);
    });
    connection.onMessage((text) => {
      for (const o of observers) o.workerMessage?.(connectionId, 'in', text);
      if (!ended) timed.send({ type: 'socket.message', text });
    });
    connection.onClose((reason) => {
      if (!ended) timed.send({ type: 'socket.closed', reason });
    });
    const release = () => {
      ended = true;
      timed.stop();
      this.runningStates.delete(connectionId);
      this.actors.delete(connectionId);
      this.connections.delete(connectionId);
      this.cost.end(key, performance.now());
    };
    this.cancels.set(connectionId, (reason) => {
      if (cancelled) return;
      cancelled = true;
      this.cancels.delete(connectionId);
      if (!ended) {
        release();
        actor.stop();
        connection.send('quit:');
        connection.close();
      }
      for (const o of observers) o.workerEnded?.(connectionId, offset + chunk, 'cancelled', reason);
    });
    const finish = (status: 'done' | 'failed', reason?: string, state?: string) => {
      if (cancelled) return;
      this.cancels.delete(connectionId);
      if (status === 'done') {
        this.chunkStates[chunk] = 'done';
        this.chunkFailed[chunk] = false;
        for (const o of observers) o.workerEnded?.(connectionId, offset + chunk, 'done');
        this.report({ type: 'worker.finished', connection: connectionId, chunk });
        return;
      }
      const why = reason ?? 'unknown';
      const where = state ?? stateNow();
      this.chunkStates[chunk] = where;
      for (const o of observers) o.workerEnded?.(connectionId, offset + chunk, 'failed', why);
      this.report({ type: 'worker.failed', connection: connectionId, chunk, reason: why, state: where });
      // Red only once no attempt is left: until then the chunk may still be done by a retry.
      if (this.supervisor && blockListGet(this.supervisor.getSnapshot().context.chunks, chunk)?.status === 'failed') this.chunkFailed[chunk] = true;
    };
    const end = (status: 'done' | 'failed', reason?: string, state?: string) => {
      if (ended) return;
      // The cancel hook stays until the outputs are checked: a copy that wins meanwhile cancels this one.
      release();
      this.chunkStates[chunk] = stateNow();
      // The machine sent `quit:` itself on success; after a failure, tell the worker to go too.
      if (status === 'failed') connection.send('quit:');
      connection.close();
      if (status === 'failed') return finish('failed', reason, state);
      // An `OK:UPLOAD` is not believed: the chunk is done once its outputs are in the store.
      void this.missingOutput(chunk).then((missing) => {
        if (this.state !== 'running') return;
        if (missing === undefined) finish('done');
        else finish('failed', missing, stateNow());
      });
    };
    actor.subscribe({
      next: (snapshot) => {
        // The final state is reported once, by `end`, with its outcome.
        if (snapshot.status !== 'active' || cancelled) return;
        lastActive = snapshot;
        if (followers.length === 0) return;
        const name = stateName(snapshot.value);
        if (name === reported) return;
        reported = name;
        for (const o of followers) o.workerState?.(connectionId, offset + chunk, name);
      },
      complete: () => {
        if (cancelled) return;
        const output = actor.getSnapshot().output as ConnectionOutput | undefined;
        if (output?.status === 'done') end('done');
        else end('failed', output?.reason ?? 'machine ended without output', output?.state);
      },
      // An actor error nobody subscribes to would crash the process; here it fails one chunk.
      error: (error) => end('failed', `internal error: ${describeError(error)}`, stateNow()),
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
    await Promise.allSettled([
      this.launcher.stop().finally(() => this.cost.endAll(performance.now())),
      this.server.close(),
      this.relay?.server?.close(),
      ...this.deps.observers.map((o) => o.close?.()),
    ]);
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

  /** The cost so far: `total` gives the worker-ms to count (all of them, or visits per worker for the summary). */
  private costAt(total: (visit: (ms: number, invocation?: number) => void) => void): RunCost {
    let workerMs = 0;
    const { regions, lambdaMemoryMb } = this.options;
    const secondsByRegion = new Map<string, number>();
    total((ms, invocation) => {
      workerMs += ms;
      if (this.options.launcher !== 'lambda') return;
      // Live figures know no invocation: spread over the regions, as round-robin launches are.
      const shares: Array<[string, number]> = invocation === undefined ? regions.map((r) => [r, ms / regions.length]) : [[regions[invocation % regions.length]!, ms]];
      for (const [region, share] of shares) secondsByRegion.set(region, (secondsByRegion.get(region) ?? 0) + share / 1000);
    });
    return {
      workerSeconds: workerMs / 1000,
      ...(this.options.launcher === 'lambda' ? { lambda: lambdaCost({ memoryMb: lambdaMemoryMb, requests: this.launched, secondsByRegion }) } : {}),
    };
  }

  private summarise(output: SupervisorOutput, recovery: JobSummary['recovery']): JobSummary {
    const offset = this.job.firstChunk;
    const now = performance.now();
    const states = this.chunkStatesNow();
    const secondsOf = (a: AttemptOutcome): number | undefined => {
      if (a.invocation === undefined && a.connection === undefined) return undefined;
      const ms = this.cost.msOf(workerKey(a.invocation, a.connection ?? -1), now);
      return ms === undefined ? undefined : Math.round(ms) / 1000;
    };
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
        const state = c.state ?? (c.status === 'failed' ? states[c.chunk] : undefined);
        return {
          ...c,
          ...(state === undefined ? {} : { state }),
          chunk: offset + c.chunk,
          outputs,
          locations: outputs.map((key) => this.deps.store.locationOf(key)),
          attempts: c.attempts.map((a) => {
            const workerSeconds = secondsOf(a);
            return workerSeconds === undefined ? a : { ...a, workerSeconds };
          }),
        };
      }),
      launchFailures: output.launchFailures,
      workerExits: this.exits,
      ...(this.relay ? { relay: { ...this.relay.address, ...(this.relay.server ? { status: this.relay.server.status() } : {}) } } : {}),
      recovery,
      cost: this.costAt((visit) =>
        this.cost.forEach(now, (key, ms) => visit(ms, key.startsWith('i') ? Number(key.slice(1)) : undefined)),
      ),
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

async function chooseLauncher(options: CompiledRunOptions, job: CoordinatorJob, log: Logger, payload: WorkerEvent): Promise<Launcher> {
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
    case 'local': {
      // Workers linked through the relay wait for each other: all of them must be alive at once.
      const maxAlive = job.relay ? Math.max(options.localWorkers, job.chunks.length + options.spares) : options.localWorkers;
      return createLocalLauncher({ concurrency: options.launchConcurrency, maxAlive, logger: log });
    }
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
