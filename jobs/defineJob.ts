/**
 * A job is a value: its name, its own options (the same option-table format as the commands), its
 * plan (chunks with their input and output keys), the per-connection machine every chunk runs,
 * and what the worker needs. The coordinator is given a job; it never imports one.
 */
import type { AnyStateMachine } from 'xstate';
import { DefinitionError, ConfigError } from '../common/errors.js';
import { resolveOptions, type OptionTable, type ResolvedValues } from '../common/optionTable.js';
import type { ConnectionMachine } from '../machines/connectionMachine.js';
import type { JobSummary } from '../runtime/coordinator/coordinator.js';
import { RUN_OPTIONS } from '../runtime/coordinator/runOptions.js';
import type { ObjectStore } from '../store/store.js';

/** One chunk of a job: what its machine starts with, the keys it reads and the keys it writes. */
export interface JobChunk<TInput> {
  input: TInput;
  /** Store keys (unhashed) the chunk reads: all must exist before anything is launched. */
  inputs: readonly string[];
  /** Store keys (unhashed) the chunk writes: all must exist before the chunk counts as done. */
  outputs: readonly string[];
}

export interface JobPlan<TInput> {
  chunks: Array<JobChunk<TInput>>;
  /** The number chunk 0 is reported as (png2y4m's `-o`); chunk i is `firstChunk + i`. Default 0. */
  firstChunk?: number;
  /** Title of plots and the dashboard. Default: the job's name and its chunk count. */
  title?: string;
  /** Work items per chunk (`{ name: 'frames', perChunk: 6 }`), for the summary and throughput. */
  units?: { name: string; perChunk: number };
  /** What an input is called in the message about missing ones. Default `input`. */
  inputName?: string;
  /** Said after the missing inputs: how to get them into the store. */
  missingHint?: string;
  /** Why there is no chunk at all (the run then stops before launching anything). */
  emptyReason?: string;
}

/** What a plan may look at besides the options: the store, by unhashed keys. */
export interface PlanContext {
  /** Every key under a prefix (as the job names them, also with `-M`), in store order. */
  list(prefix: string): AsyncIterable<string>;
  /** The store's name (`file:DIR` or the bucket), for messages. */
  storeName: string;
}

/** A function of the job's options, declared as a method so any job is assignable to {@link AnyJob}. */
type OfValues<TValues, R> = { of(values: TValues): R }['of'];

/** What workers need for this job. */
export interface JobWorker<TValues> {
  /** The command a bare `run:` runs (`##INFILE##`, `##OUTFILE##`, `##TMPDIR##`); none by default. */
  command?: string | OfValues<TValues, string>;
  /** `run:` and transfers answer at once and run in the background (mu's nonblock). Default false. */
  nonblock?: boolean;
  /** Programs the commands call: found on PATH for local workers, packed by `lambdaize`. */
  executables?: readonly string[];
}

/** Added to every chunk's machine input by the run. */
export interface RunInput {
  answerTimeoutMs?: number;
  /**
   * Where workers reach the relay (`connect:{host}:{port}:HELLO_STATE:...`): given when the job
   * says `relay: true`, the embedded relay's address as workers dial it, or `-H/-T`.
   */
  relay?: { host: string; port: number };
  /**
   * Given with `relay`: how long a worker's `##INSTATEWAIT##` waits for its peer's state (`--state-wait`).
   * A `run:` that waits answers only after it, so its answer timeout should be `answerTimeoutMs` more.
   */
  stateWaitMs?: number;
}

/** What a job's {@link JobSpec.afterRun} is given: the run's summary (every chunk done) and its store. */
export interface AfterRunContext {
  summary: JobSummary;
  store: ObjectStore;
}

/** What an after-run step did: one line for people, and the files it wrote (printed on stdout). */
export interface AfterRunResult {
  line: string;
  outputs: string[];
}

export interface JobSpec<TOptions extends OptionTable, TInput> {
  /** `xc-orch run NAME`: lower case letters, digits and dashes. */
  name: string;
  /** One line for `xc-orch jobs`. */
  description: string;
  /** The job's own options; their keys and flags may not clash with the run options. */
  options: TOptions;
  /** The chunks, from the options (or by listing the store). */
  plan(values: ResolvedValues<TOptions>, context: PlanContext): JobPlan<TInput> | Promise<JobPlan<TInput>>;
  /** The per-connection machine, started once per chunk with the chunk's input. */
  machine: ConnectionMachine<TInput & RunInput>;
  worker?: JobWorker<ResolvedValues<TOptions>>;
  /**
   * The workers talk to each other through the relay (peer links): the run starts one in-process
   * (or uses `-H/-T`) and gives its address to every chunk as `RunInput.relay`. Default false.
   */
  relay?: boolean;
  /**
   * Runs on this machine once every chunk is done (xcenc's `--join`); nothing to do: undefined.
   * A throw fails the run with its message.
   */
  afterRun?(values: ResolvedValues<TOptions>, context: AfterRunContext): Promise<AfterRunResult | undefined>;
  /**
   * Whether a straggling chunk may get a second worker, the first to finish winning. Only for jobs
   * whose chunks write the same outputs whoever runs them (deterministic), under their final names
   * only once complete (the stores do), and may run twice (idempotent). Default true.
   */
  speculation?: boolean;
}

const JOB = Symbol.for('xc-orch.job');

/** A defined job; the brand survives loading the package twice (a job file bundled on its own). */
export interface Job<TOptions extends OptionTable = OptionTable, TInput = unknown> extends JobSpec<TOptions, TInput> {
  readonly [JOB]: true;
}

/** A job with its types erased, as the coordinator and the CLI handle any job. */
export interface AnyJob {
  readonly name: string;
  readonly description: string;
  readonly options: OptionTable;
  plan(values: Readonly<Record<string, unknown>>, context: PlanContext): JobPlan<unknown> | Promise<JobPlan<unknown>>;
  readonly machine: AnyStateMachine;
  readonly worker?: JobWorker<Readonly<Record<string, unknown>>>;
  readonly relay?: boolean;
  afterRun?(values: Readonly<Record<string, unknown>>, context: AfterRunContext): Promise<AfterRunResult | undefined>;
  readonly speculation?: boolean;
}

/** True for any value made by {@link defineJob}, whichever copy of the package made it. */
export function isJob(value: unknown): value is AnyJob {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[JOB] === true;
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Check a job's definition and make it a job. Mistakes throw a {@link DefinitionError} naming
 * the job and what is wrong.
 *
 * @example
 * export default defineJob({
 *   name: 'upper', description: 'upper-cases text files', options: {},
 *   plan: () => ({ chunks: [{ input: { n: 0 }, inputs: ['in/a.txt'], outputs: ['out/a.txt'] }] }),
 *   machine: createConnectionMachine({ id: 'upper', vars: (input: { n: number }) => input, blocks: [commandList('go', ['echo:hi'])] }),
 * });
 */
export function defineJob<const TOptions extends OptionTable, TInput>(spec: JobSpec<TOptions, TInput>): Job<TOptions, TInput> {
  const name = typeof spec?.name === 'string' ? spec.name : '?';
  const bad = (what: string) => new DefinitionError(`job ${name}: ${what}`);
  if (!NAME.test(name)) throw bad(`the name must be 1-40 lower case letters, digits or dashes, starting with a letter, got ${JSON.stringify(spec?.name)}`);
  if (typeof spec.description !== 'string' || spec.description.trim() === '' || spec.description.includes('\n')) throw bad('the description must be one non-empty line');
  if (typeof spec.plan !== 'function') throw bad('plan must be a function of the options');
  if (typeof spec.machine !== 'object' || spec.machine === null || typeof (spec.machine as { transition?: unknown }).transition !== 'function') {
    throw bad('machine must be a state machine (createConnectionMachine from blocks)');
  }
  checkOptions(spec.options, bad);
  if (spec.relay !== undefined && typeof spec.relay !== 'boolean') throw bad(`relay must be true or false, got ${JSON.stringify(spec.relay)}`);
  if (spec.speculation !== undefined && typeof spec.speculation !== 'boolean') throw bad('speculation must be true or false');
  const executables = spec.worker?.executables ?? [];
  for (const exe of executables) if (typeof exe !== 'string' || !/^[A-Za-z0-9._+-]+$/.test(exe)) throw bad(`executable ${JSON.stringify(exe)} must be a program name`);
  return Object.freeze({ ...spec, [JOB]: true as const });
}

function checkOptions(options: OptionTable, bad: (what: string) => DefinitionError): void {
  if (typeof options !== 'object' || options === null) throw bad('options must be an option table (an object, {} for none)');
  const taken = new Map<string, string>([['--help', 'help'], ['-h', 'help']]);
  for (const [key, spec] of Object.entries(RUN_OPTIONS)) {
    taken.set(`--${spec.flag}`, `the run option ${key}`);
    if ('short' in spec && spec.short) taken.set(`-${spec.short}`, `the run option ${key}`);
  }
  for (const [key, spec] of Object.entries(options)) {
    if (Object.hasOwn(RUN_OPTIONS, key)) throw bad(`option ${key} has the name of a run option`);
    if (!/^[a-z][a-z0-9-]*$/.test(spec.flag ?? '')) throw bad(`option ${key}: flag must be lower case words joined by dashes, got ${JSON.stringify(spec.flag)}`);
    if (spec.short !== undefined && !/^[A-Za-z]$/.test(spec.short)) throw bad(`option ${key}: short flag must be one letter, got ${JSON.stringify(spec.short)}`);
    for (const flag of [`--${spec.flag}`, ...(spec.short ? [`-${spec.short}`] : [])]) {
      const owner = taken.get(flag);
      if (owner !== undefined) throw bad(`option ${key}: ${flag} is already ${owner}`);
      taken.set(flag, `option ${key}`);
    }
    if (typeof spec.help !== 'string' || spec.help.trim() === '') throw bad(`option ${key} needs a help text`);
  }
  try {
    const defaults = Object.fromEntries(Object.entries(options).flatMap(([key, spec]) => ('default' in spec && spec.default !== undefined ? [[key, spec.default]] : [])));
    resolveOptions(options, defaults);
  } catch (error) {
    throw bad(`a default is not a valid value (${error instanceof ConfigError ? error.message : String(error)})`);
  }
}
