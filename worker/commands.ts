/**
 * The worker's command table and the interpreter that runs it (mu-reference section 2). The
 * interpreter knows nothing about sockets: commands go in through `handle(payload)`, answers come
 * out through `onAnswer(text)` (or `onAnswerFrame`, byte-exact), so tests and in-memory
 * simulations drive it directly and the TLS worker is only a thin pump around it.
 *
 * Ordering: commands are served one at a time in arrival order, as in mu's single loop, so a
 * pipelined `retrieve:` then `run:` runs in that order. With vals `nonblock` on, `run:`,
 * `retrieve:` and `upload:` become background jobs: the interpreter answers `OK:RUNNING(..)`
 * (unless `bg_silent`), moves on to the next command, and sends the final answer when the job ends.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { answers, binaryAnswers, isCommandName, splitCommand, type CommandName } from '../protocol/messages.js';
import { describeError } from '../common/errors.js';
import { DEFAULT_BUCKET, openStore as openStoreDefault, type StoreOptions } from '../store/openStore.js';
import type { ObjectStore } from '../store/store.js';
import type { BuiltinTools } from './builtinTools.js';
import { confinePath } from './confinePath.js';
import { isOn, parseInteger, transferParams, type TransferParams, type Val } from './vals.js';
import { ProcessGroups } from './processGroups.js';
import { DEFAULT_MAX_OUTPUT_BYTES, runShell } from './runShell.js';
import { expandCommand, type TemplateLookup } from './template.js';
import type { WorkerEvent } from './event.js';
import type { PeerLinkOpener } from './peerLink.js';
import { PeerSession } from './peerSession.js';
import { DEFAULT_STATE_WAIT_MS, INSTATEWAIT_MARK, runsChainTool, statePlaceholders, waitForFile } from './stateFiles.js';

/** A variable's value: `set:` stores strings, `seti:` integers (as in mu). */

/** The parts of the invocation payload the commands read (all optional, for tests). */
export type InterpreterEvent = Partial<
  Pick<
    WorkerEvent,
    | 'bucket'
    | 'region'
    | 's3endpoint'
    | 'command'
    | 'infile'
    | 'outfile'
    | 'quality'
    | 'vars'
    | 'args'
    | 'nonblock'
    | 'bg_silent'
    | 'hash_s3keys'
    | 'rm_tmpdir'
    | 'expect_statefile'
    | 'send_statefile'
    | 'minimal_recode'
    | 'run_iter'
    | 'files_outside_tmpdir'
  >
>;

/** Opens the store named by the `bucket` variable (swap it in tests to inject store failures). */
export type StoreOpener = (spec: string, options: StoreOptions) => ObjectStore | Promise<ObjectStore>;

export interface InterpreterOptions {
  /** Seeds the vals (`bucket`, `region`, `nonblock`, ...) and supplies template fallbacks. */
  event: InterpreterEvent;
  /** The worker's private temp dir: `##TMPDIR##`, the working directory of `run:`, base of relative files. */
  tmpDir: string;
  /** Receives every answer, in order, as text (bytes that are not UTF-8 arrive mangled: use onAnswerFrame). */
  onAnswer?: (text: string) => void;
  /**
   * Receives every answer, in order, exactly as it goes on the wire: text, or a Buffer for answers
   * that carry outside bytes (`echo:`, `run:` output). When given, `onAnswer` is not called.
   */
  onAnswerFrame?: (payload: string | Buffer) => void;
  /** Called once when `quit:` is served (no answer is sent for it). */
  onQuit?: () => void;
  /** Environment of `run:` commands (default: this process's; the worker puts our `bin/` first on PATH). */
  env?: NodeJS.ProcessEnv;
  /** Bound on the OUTPUT(...) of one `run:` (default 64 KiB; the tail is kept). */
  maxOutputBytes?: number;
  /** Default: {@link openStoreDefault openStore} from store/openStore.ts. */
  openStore?: StoreOpener;
  /** Default: silent. */
  logger?: Logger;
  /**
   * Tools `run:` may serve in-process instead of through the shell (worker/builtinTools.ts).
   * The interpreter owns them: {@link Interpreter.close} closes them. Default: none.
   */
  builtinTools?: BuiltinTools;
  /** Opens `connect:` links with the worker's TLS identity (worker/peerLink.ts). Default: none, `connect:` fails. */
  openPeerLink?: PeerLinkOpener;
  /** How long `##INSTATEWAIT##` waits for the predecessor's state (default 600 000 ms). */
  stateWaitMs?: number;
}

/** `serving` until `quit:` (`quitting`) or {@link Interpreter.close} (`closed`); only `serving` answers. */
export type InterpreterState = 'serving' | 'quitting' | 'closed';

export interface Interpreter {
  /** Queue one command (a frame's payload, bytes as received or text); its answers arrive through `onAnswer`. */
  handle(command: string | Uint8Array): void;
  readonly state: InterpreterState;
  /** True while a command is queued or running, in the foreground or the background. */
  readonly busy: boolean;
  readonly vals: ReadonlyMap<string, Val>;
  /** Resolves once nothing is queued or running (immediately if idle). */
  settled(): Promise<void>;
  /** Stop serving: drop queued commands, kill running ones, wait for them; answers nothing more. */
  close(): Promise<void>;
}

/** Longest piece of an unknown command echoed back in `FAIL(no such command '...')`. */
export const MAX_ECHOED_COMMAND_CHARS = 200;

/**
 * Create an interpreter for one worker.
 *
 * @example
 * const it = createInterpreter({ event: { bucket: 'file:./xc-store' }, tmpDir, onAnswer: send });
 * it.handle('seti:nonblock:1'); // send('OK:SETI(nonblock)')
 */
export function createInterpreter(options: InterpreterOptions): Interpreter {
  return new CommandInterpreter(options);
}

/** What a command handler may use; it answers through `answer` and never throws. */
interface CommandContext {
  readonly vals: Map<string, Val>;
  readonly tmpDir: string;
  answer(text: string | Buffer): void;
  lookup: TemplateLookup;
  /** The function's own command (a bare `run:`). */
  readonly functionCommand: string | undefined;
  /** Whether retrieve:/upload: files may be outside the temp dir (worker/confinePath.ts). */
  readonly filesOutsideTmpDir: boolean;
  quit(): void;
  /** Run `job` in the foreground, or in the background if vals `nonblock` is on (see module doc). */
  perform(startAnswer: string, job: (signal: AbortSignal, background: boolean) => Promise<string | Buffer>): void | Promise<void>;
  runShell(command: string, signal: AbortSignal): ReturnType<typeof runShell>;
  store(bucket: string): Promise<ObjectStore>;
  /** The `connect:` link and the states that travel on it. */
  readonly peers: PeerSession;
  readonly stateWaitMs: number;
}

/** `arg` is the text after the command's colon; `raw` the same bytes as received. */
type CommandHandler = (arg: string, context: CommandContext, raw: Buffer) => void | Promise<void>;

/** The command table: one handler per command of mu-reference section 2. */
const COMMANDS: Readonly<Record<CommandName, CommandHandler>> = {
  set: (arg, c) => setVal(arg, c, false),
  seti: (arg, c) => setVal(arg, c, true),
  get: (key, c) => {
    const value = c.vals.get(key);
    c.answer(value === undefined ? answers.fail(`no such variable ${key}`) : answers.get(String(value)));
  },
  geti: (key, c) => {
    const value = c.vals.get(key);
    if (value === undefined) {
      c.answer(answers.fail(`no such variable ${key}`));
      return;
    }
    c.answer(answers.info(key, String(value)));
    c.answer(answers.geti(key));
  },
  dump_vals: (_arg, c) => c.answer(answers.dumpVals(JSON.stringify(Object.fromEntries(c.vals)))),
  echo: (_arg, c, raw) => c.answer(binaryAnswers.echo(raw)),
  quit: (_arg, c) => c.quit(),
  connect: (_arg, c, raw) => c.peers.connect(raw).then((answer) => c.answer(answer)),
  close_connect: (_arg, c) => c.answer(c.peers.closeConnect()),

  run: (arg, c) => {
    const template = arg !== '' ? arg : c.functionCommand;
    if (template === undefined || template === '') {
      c.answer(answers.fail('no command to run: run: was given none and the function has none'));
      return;
    }
    const runIter = integerVal(c.vals.get('run_iter'));
    if (runIter === undefined) {
      c.answer(answers.fail(`run: run_iter must be an integer, not '${clip(String(c.vals.get('run_iter')))}'`));
      return;
    }
    const states = statePlaceholders(runIter, isOn(c.vals.get('expect_statefile')), isOn(c.vals.get('minimal_recode')));
    const waits = states.waitFor !== undefined && [template, c.lookup('vars'), c.lookup('args')].some((text) => text?.includes(INSTATEWAIT_MARK));
    const command = expandCommand(template, c.lookup, c.tmpDir, states.marks);
    return c.perform(answers.running(command), async (signal, background) => {
      if (waits) {
        try {
          await waitForFile(resolve(c.tmpDir, states.waitFor!), { timeoutMs: c.stateWaitMs, signal });
        } catch (error) {
          return answers.fail(`run: ${describeError(error)}`);
        }
      }
      const { code, output, outputBytes } = await c.runShell(command, signal);
      // mu's finished_run, before the answer so the coordinator's next command sees prev.ivf.
      if (background && code === 0 && runsChainTool(command)) {
        // Read again as mu did when the run ended: a seti: may have moved it meanwhile.
        const passIter = integerVal(c.vals.get('run_iter')) ?? runIter;
        try {
          await c.peers.afterChainPass(passIter, isOn(c.vals.get('send_statefile')));
        } catch (error) {
          return answers.fail(`after ${clip(command)}: ${describeError(error)}`);
        }
      }
      return binaryAnswers.retval(code, outputBytes ?? Buffer.from(output), command);
    });
  },

  retrieve: (arg, c) => {
    const t = transferOf(arg, c, 'inkey', 'targfile');
    if (typeof t === 'string') {
      c.answer(answers.fail(`could not compute download params: ${t}`));
      return;
    }
    return c.perform(answers.retrieving(t.bucket, t.key, t.file), async (signal) => {
      try {
        if (!c.filesOutsideTmpDir) await confinePath(c.tmpDir, t.path);
        await (await c.store(t.bucket)).download(t.key, t.path, { signal });
        return answers.retrieve(t.bucket, t.key);
      } catch (error) {
        return answers.fail(`retrieving ${t.bucket}/${t.key}->${t.file}: ${describeError(error)}`);
      }
    });
  },

  upload: (arg, c) => {
    const t = transferOf(arg, c, 'outkey', 'fromfile');
    if (typeof t === 'string') {
      c.answer(answers.fail(`could not compute upload params: ${t}`));
      return;
    }
    return c.perform(answers.uploading(t.file, t.bucket, t.key), async (signal) => {
      const fail = (why: string) => answers.fail(`uploading ${t.file}->${t.bucket}/${t.key}: ${why}`);
      if (!c.filesOutsideTmpDir) {
        const refused = await confinePath(c.tmpDir, t.path).then(() => undefined, (error: unknown) => describeError(error));
        if (refused !== undefined) return fail(refused);
      }
      // Checked here so the answer is the same for every store, S3 included.
      const isFile = await stat(t.path).then((s) => s.isFile(), () => false);
      if (!isFile) return fail(`no such file ${t.file}`);
      try {
        await (await c.store(t.bucket)).upload(t.key, t.path, { signal });
        return answers.upload(t.bucket, t.key);
      } catch (error) {
        return fail(describeError(error));
      }
    });
  },
};

function setVal(arg: string, c: CommandContext, integer: boolean): void {
  const colon = arg.indexOf(':');
  if (colon < 1) {
    // mu answers the same text for seti: as for set:.
    c.answer(answers.fail('invalid syntax for SET'));
    return;
  }
  const key = arg.slice(0, colon);
  const text = arg.slice(colon + 1);
  if (!integer) {
    c.vals.set(key, text);
    c.answer(answers.set(key));
    return;
  }
  const value = parseInteger(text);
  if (value === undefined) {
    c.answer(answers.fail(`could not interpret ${text} as an integer`));
    return;
  }
  c.vals.set(key, value);
  c.answer(answers.seti(key));
}

/** A `seti:` value, or a `set:` one read as an integer. */
function integerVal(value: Val | undefined): number | undefined {
  if (typeof value === 'number') return value;
  return value === undefined ? undefined : parseInteger(value);
}

/** A transfer's parameters, and its file's absolute path (relative names are inside the temp dir). */
function transferOf(arg: string, c: CommandContext, keyVar: string, fileVar: string): (TransferParams & { path: string }) | string {
  const t = transferParams(arg, c.vals, c.tmpDir, keyVar, fileVar);
  return typeof t === 'string' ? t : { ...t, path: resolve(c.tmpDir, t.file) };
}

class CommandInterpreter implements Interpreter, CommandContext {
  readonly vals = new Map<string, Val>();
  readonly tmpDir: string;
  readonly functionCommand: string | undefined;
  readonly filesOutsideTmpDir: boolean;
  private currentState: InterpreterState = 'serving';
  private readonly queue: Buffer[] = [];
  private draining: Promise<void> | undefined;
  private pumping = false;
  private readonly jobs = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly groups = new ProcessGroups();
  private readonly stores = new Map<string, Promise<ObjectStore>>();
  private settledWaiters: Array<() => void> = [];
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly maxOutputBytes: number;
  private readonly openStore: StoreOpener;
  readonly peers: PeerSession;
  readonly stateWaitMs: number;

  constructor(private readonly options: InterpreterOptions) {
    const event = options.event;
    this.tmpDir = options.tmpDir;
    this.functionCommand = event.command;
    this.filesOutsideTmpDir = event.files_outside_tmpdir === 1;
    this.log = options.logger ?? pino({ level: 'silent' });
    this.env = options.env ?? process.env;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.openStore = options.openStore ?? openStoreDefault;
    this.vals.set('bucket', event.bucket ?? DEFAULT_BUCKET);
    if (event.region !== undefined) this.vals.set('region', event.region);
    this.vals.set('nonblock', event.nonblock ?? 0);
    this.vals.set('bg_silent', event.bg_silent ?? 0);
    this.vals.set('hash_s3keys', event.hash_s3keys ?? 0);
    this.vals.set('rm_tmpdir', event.rm_tmpdir ?? 1);
    this.vals.set('expect_statefile', event.expect_statefile ?? 0);
    this.vals.set('send_statefile', event.send_statefile ?? 0);
    this.vals.set('minimal_recode', event.minimal_recode ?? 0);
    this.vals.set('run_iter', event.run_iter ?? 0);
    this.stateWaitMs = options.stateWaitMs ?? DEFAULT_STATE_WAIT_MS;
    this.peers = new PeerSession({
      tmpDir: this.tmpDir,
      opener: options.openPeerLink,
      onInfo: (answer) => this.answer(answer),
      logger: this.log,
    });
  }

  get state(): InterpreterState {
    return this.currentState;
  }

  get busy(): boolean {
    return this.pumping || this.draining !== undefined || this.queue.length > 0 || this.jobs.size > 0;
  }

  handle(command: string | Uint8Array): void {
    if (this.currentState !== 'serving') {
      this.log.debug({ state: this.currentState }, 'command ignored after quit');
      return;
    }
    this.queue.push(Buffer.isBuffer(command) ? command : Buffer.from(command));
    if (this.draining === undefined && !this.pumping) this.drain();
  }

  settled(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.currentState = 'closed';
    this.queue.length = 0;
    this.abort.abort();
    // Also what finished runs left in the background (`run:CMD &`): nothing outlives the worker.
    this.groups.killAll();
    await Promise.allSettled([this.draining, ...this.jobs]);
    await Promise.all([this.options.builtinTools?.close(), this.peers.close()]);
    this.notifyIfSettled();
  }

  answer(text: string | Buffer): void {
    if (this.currentState !== 'serving') return;
    if (this.options.onAnswerFrame) this.options.onAnswerFrame(text);
    else this.options.onAnswer?.(typeof text === 'string' ? text : text.toString('utf8'));
  }

  lookup: TemplateLookup = (name) => {
    const value = this.vals.get(`cmd${name}`);
    if (value !== undefined) return String(value);
    return this.options.event[name];
  };

  quit(): void {
    this.currentState = 'quitting';
    this.queue.length = 0;
    this.options.onQuit?.();
  }

  perform(startAnswer: string, job: (signal: AbortSignal, background: boolean) => Promise<string | Buffer>): void | Promise<void> {
    const finish = (text: string | Buffer) => this.answer(text);
    const background = isOn(this.vals.get('nonblock'));
    const guarded = () => job(this.abort.signal, background).catch((error: unknown) => answers.fail(describeError(error)));
    if (!background) return guarded().then(finish);
    if (!isOn(this.vals.get('bg_silent'))) this.answer(startAnswer);
    const running: Promise<void> = guarded()
      .then(finish)
      .finally(() => {
        this.jobs.delete(running);
        this.notifyIfSettled();
      });
    this.jobs.add(running);
  }

  async runShell(command: string, signal: AbortSignal): ReturnType<typeof runShell> {
    const options = { cwd: this.tmpDir, env: this.env, maxOutputBytes: this.maxOutputBytes, signal, groups: this.groups };
    return (await this.options.builtinTools?.tryRun(command, options)) ?? runShell(command, options);
  }

  store(bucket: string): Promise<ObjectStore> {
    const region = this.vals.get('region');
    const cacheKey = `${bucket}\0${region ?? ''}`;
    let store = this.stores.get(cacheKey);
    if (!store) {
      const options: StoreOptions = {};
      if (region !== undefined) options.region = String(region);
      if (this.options.event.s3endpoint !== undefined) options.endpoint = this.options.event.s3endpoint;
      const opened = Promise.resolve().then(() => this.openStore(bucket, options));
      // A store that failed to open is not cached: the next command may bring a fixed bucket.
      opened.catch(() => this.stores.delete(cacheKey));
      store = opened;
      this.stores.set(cacheKey, store);
    }
    return store;
  }

  /**
   * Serve queued commands in order. Synchronous commands are answered before `handle` returns;
   * the loop only yields while a foreground job runs. `pumping` stops an `onAnswer` that sends
   * the next command at once from starting a second, nested loop (which would reorder commands).
   */
  private drain(): void {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.currentState === 'serving') {
        const pending = this.dispatch(this.queue.shift()!);
        if (pending) {
          this.draining = this.continueAfter(pending).finally(() => {
            this.draining = undefined;
            this.notifyIfSettled();
          });
          return;
        }
      }
    } finally {
      this.pumping = false;
    }
    this.notifyIfSettled();
  }

  private async continueAfter(first: Promise<void>): Promise<void> {
    let pending: void | Promise<void> = first;
    for (;;) {
      try {
        await pending;
      } catch (error) {
        this.log.error({ err: describeError(error) }, 'answer sink threw');
      }
      if (this.queue.length === 0 || this.currentState !== 'serving') return;
      pending = this.dispatch(this.queue.shift()!);
    }
  }

  private dispatch(bytes: Buffer): void | Promise<void> {
    const text = bytes.toString('utf8');
    const colon = text.indexOf(':');
    const { name, arg } = splitCommand(text);
    if (colon < 0 || !isCommandName(name)) {
      this.log.debug({ command: name.slice(0, 40) }, 'unknown command');
      this.answer(answers.fail(`no such command '${clip(text)}'`));
      return;
    }
    this.log.debug({ command: name }, 'command');
    try {
      // The first colon is the first 0x3a byte: UTF-8 never uses it inside a character.
      return COMMANDS[name](arg, this, bytes.subarray(bytes.indexOf(0x3a) + 1));
    } catch (error) {
      // Handlers are written not to throw; this keeps one bug from killing the worker.
      this.log.error({ command: name, err: describeError(error) }, 'command handler threw');
      this.answer(answers.fail(`${name}: ${describeError(error)}`));
    }
  }

  private notifyIfSettled(): void {
    if (this.busy) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const wake of waiters) wake();
  }
}

function clip(text: string): string {
  return text.length <= MAX_ECHOED_COMMAND_CHARS ? text : `${text.slice(0, MAX_ECHOED_COMMAND_CHARS)}...`;
}
