/**
 * The worker runtime: one invocation payload in, one exit record out. In mode 1 it dials the
 * coordinator over mutual TLS, says `OK:HELLO[:ID]`, and pumps frames, as bytes, between the socket
 * and the command interpreter until `quit:`, a dead connection, garbage on the wire or an idle
 * timeout; `connect:` peer links are dialled with the same TLS identity (tlsClientOptions.ts).
 * In mode 0 it runs the function's command once and returns mu's answer text.
 *
 * It owns exactly one private temp dir (mkdtemp) and, with `rm_tmpdir`, removes that dir and
 * nothing else: mu's `rm -rf /tmp/*` was fine on Lambda and a disaster anywhere else.
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder } from '../protocol/frame.js';
import { answers, helloFrame } from '../protocol/messages.js';
import { ConfigError, describeError } from '../common/errors.js';
import { packageBinDir } from '../common/packagePaths.js';
import { findBinDir, pathWithBin, writeToolShims } from './binDir.js';
import { createBuiltinTools } from './builtinTools.js';
import { createInterpreter, type Interpreter, type StoreOpener } from './commands.js';
import type { WorkerEvent } from './event.js';
import { DEFAULT_IDLE_TIMEOUT_S } from './parseEvent.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from './runShell.js';
import { closeSocket } from './closeSocket.js';
import { linkTools } from './linkTools.js';
import { openPeerLink, type PeerLinkOpener } from './peerLink.js';
import { tlsClientOptions } from './tlsClientOptions.js';

export interface WorkerOptions {
  /** Folder put first on PATH for `run:` (default: `XC_ORCH_BIN_DIR`, else the package's `bin/`). */
  binDir?: string;
  /** Where the private temp dir is made (default: the OS temp folder). */
  tmpRoot?: string;
  /** Give up if the TLS connection is not up after this long (default 30 000 ms). */
  connectTimeoutMs?: number;
  /** Overrides the event's `idle_timeout_s` (default: the event's, else 300 s). */
  idleTimeoutMs?: number;
  /** Base environment of `run:` commands (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * The file that is our own png2y4m: when `run:` finds it on PATH, frames are converted in a
   * thread of this worker instead of a process each (worker/builtinTools.ts). Default: the shim
   * written for the package's own `bin/png2y4m.js`; none when `binDir` is another folder.
   */
  png2y4mPath?: string;
  /** Bound on one `run:`'s OUTPUT(...) (default 64 KiB). */
  maxOutputBytes?: number;
  /** How long `##INSTATEWAIT##` waits for the predecessor's state (default: the event's `state_wait_s`, else 600 s). */
  stateWaitMs?: number;
  /** Default: store/openStore.ts. */
  openStore?: StoreOpener;
  /** Default: silent. Never given the event (it holds the private key). */
  logger?: Logger;
  /** Aborting stops the worker (reason `stopped`): running commands are killed, the temp dir removed. */
  signal?: AbortSignal;
}

/** Why the worker stopped. Only `quit` (mode 1) and `ran` (mode 0) are normal ends. */
export type WorkerExitReason =
  | 'quit' // the coordinator said quit:
  | 'closed' // the connection closed or failed after it was up
  | 'connect' // the connection never came up (refused, TLS verification failed, timeout)
  | 'protocol' // the coordinator sent a malformed or oversize frame
  | 'idle' // no command for the idle timeout
  | 'setup' // the temp dir or the tool shims in it could not be made (a full disk, a bad tmpRoot)
  | 'stopped' // the caller aborted (the CLI does on SIGTERM/SIGINT)
  | 'ran'; // mode 0: the command ran once

export interface WorkerExit {
  reason: WorkerExitReason;
  /** One readable line about the cause, for abnormal ends. */
  detail?: string;
  /** Commands received (mode 1). */
  commands: number;
  /** The private temp dir used (already removed if `removedTmpDir`). */
  tmpDir: string;
  removedTmpDir: boolean;
  /** Mode 0: mu's answer for the one run, `OK:RETVAL(n):OUTPUT(...):COMMAND(...)`. */
  answer?: string;
}

interface CompiledOptions {
  binDir: string | undefined;
  tmpRoot: string;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxFrameBytes: number;
  env: NodeJS.ProcessEnv;
  png2y4mPath: string | undefined;
  maxOutputBytes: number;
  stateWaitMs: number | undefined;
  openStore: StoreOpener | undefined;
  signal: AbortSignal | undefined;
  log: Logger;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** Folder inside the temp dir holding the tool shims. */
const SHIM_DIR_NAME = '.xc-bin';

function compile(event: WorkerEvent, options: WorkerOptions): CompiledOptions {
  const env = options.env ?? process.env;
  return {
    binDir: options.binDir ?? findBinDir(env),
    tmpRoot: options.tmpRoot ?? tmpdir(),
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? (event.idle_timeout_s ?? DEFAULT_IDLE_TIMEOUT_S) * 1000,
    maxFrameBytes: event.max_frame_bytes ?? DEFAULT_MAX_FRAME_BYTES,
    env,
    png2y4mPath: options.png2y4mPath,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    stateWaitMs: options.stateWaitMs ?? (event.state_wait_s === undefined ? undefined : event.state_wait_s * 1000),
    openStore: options.openStore,
    log: options.logger ?? pino({ level: 'silent' }),
    signal: options.signal,
  };
}

/**
 * Run one worker to its end. Never rejects: every end, a temp dir or tool shims that cannot be
 * made (`setup`) and unusable TLS material (`connect`) included, is the exit record's `reason`.
 *
 * @example
 * const exit = await runWorker(parseEvent(JSON.parse(payload)));
 * process.exitCode = exit.reason === 'quit' ? 0 : 1;
 */
export async function runWorker(event: WorkerEvent, options: WorkerOptions = {}): Promise<WorkerExit> {
  const compiled = compile(event, options);
  let tmpDir: string;
  try {
    tmpDir = await mkdtemp(join(compiled.tmpRoot, 'xc-worker-'));
  } catch (error) {
    const detail = `cannot make a temp dir in ${compiled.tmpRoot}: ${describeError(error)}`;
    return { reason: 'setup', detail, commands: 0, tmpDir: '', removedTmpDir: false };
  }
  compiled.log.debug({ tmpDir, mode: event.mode }, 'worker starting');
  let result: Outcome;
  let removedTmpDir = false;
  try {
    result = await runIn(tmpDir, event, compiled);
  } finally {
    if (event.rm_tmpdir) removedTmpDir = await removeTmpDir(tmpDir, compiled.log);
  }
  compiled.log.debug({ reason: result.reason, detail: result.detail }, 'worker finished');
  return { ...result, tmpDir, removedTmpDir };
}

async function runIn(tmpDir: string, event: WorkerEvent, compiled: CompiledOptions): Promise<Outcome> {
  let tools: ToolDirs;
  try {
    tools = await prepareToolDirs(compiled.binDir, tmpDir);
    if (event.link_tools) await linkTools(tools.dirs, tmpDir);
  } catch (error) {
    // No connection exists yet to answer on (a full disk, typically): the exit record says why.
    return { reason: 'setup', detail: `cannot write the tool shims in ${tmpDir}: ${describeError(error)}`, commands: 0 };
  }
  const png2y4mPath = compiled.png2y4mPath ?? tools.ownPng2y4m;
  const context: RunContext = { event, compiled, tmpDir, path: pathWithBin(tools.dirs, compiled.env.PATH), png2y4mPath };
  return event.mode === 0 ? runOnce(context) : serve(context);
}

async function removeTmpDir(tmpDir: string, log: Logger): Promise<boolean> {
  try {
    await rm(tmpDir, { recursive: true, force: true, maxRetries: 2 });
    return true;
  } catch (error) {
    log.warn({ tmpDir, err: describeError(error) }, 'could not remove the temp dir');
    return false;
  }
}

type Outcome = Omit<WorkerExit, 'tmpDir' | 'removedTmpDir'>;

interface RunContext {
  event: WorkerEvent;
  compiled: CompiledOptions;
  tmpDir: string;
  /** PATH of run: commands, our tools first. */
  path: string;
  /** Our own png2y4m, served in-process when found on PATH. */
  png2y4mPath: string | undefined;
}

/**
 * The folders to put first on PATH: shims for `bin/NAME.js` tools (see binDir.ts), then bin/
 * itself; and the png2y4m shim if it runs the package's own tool (not one in another folder).
 */
interface ToolDirs {
  dirs: string[];
  ownPng2y4m?: string;
}

async function prepareToolDirs(binDir: string | undefined, tmpDir: string): Promise<ToolDirs> {
  if (binDir === undefined) return { dirs: [] };
  const shimDir = join(tmpDir, SHIM_DIR_NAME);
  await mkdir(shimDir);
  const shimmed = await writeToolShims(binDir, shimDir);
  if (shimmed.length === 0) return { dirs: [binDir] };
  const dirs = [shimDir, binDir];
  return shimmed.includes('png2y4m') && (await isPackageBinDir(binDir)) ? { dirs, ownPng2y4m: join(shimDir, 'png2y4m') } : { dirs };
}

async function isPackageBinDir(dir: string): Promise<boolean> {
  try {
    return (await realpath(dir)) === (await realpath(packageBinDir()));
  } catch {
    return false;
  }
}

interface Wiring {
  onAnswerFrame: (payload: string | Buffer) => void;
  onQuit?: () => void;
  openPeerLink?: PeerLinkOpener;
}

function interpreterFor(context: RunContext, wiring: Wiring): Interpreter {
  const { compiled } = context;
  const env = { ...compiled.env, PATH: context.path };
  const builtinTools = createBuiltinTools({ ...(context.png2y4mPath ? { png2y4mPath: context.png2y4mPath } : {}), logger: compiled.log });
  void builtinTools.prepare(context.event.command, { env, cwd: context.tmpDir });
  return createInterpreter({
    event: context.event,
    tmpDir: context.tmpDir,
    ...wiring,
    ...(compiled.stateWaitMs !== undefined ? { stateWaitMs: compiled.stateWaitMs } : {}),
    env,
    maxOutputBytes: compiled.maxOutputBytes,
    builtinTools,
    ...(compiled.openStore ? { openStore: compiled.openStore } : {}),
    logger: compiled.log,
  });
}

/** Mode 0: the function's command, once, in the foreground (mu ignored nonblock here too). */
async function runOnce(context: RunContext): Promise<Outcome> {
  let answer: string | undefined;
  const interpreter = interpreterFor({ ...context, event: { ...context.event, nonblock: 0 } }, {
    onAnswerFrame: (payload) => {
      answer = payload.toString();
    },
  });
  const { signal } = context.compiled;
  const stop = () => void interpreter.close();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  interpreter.handle('run:');
  await interpreter.settled();
  signal?.removeEventListener('abort', stop);
  await interpreter.close();
  if (answer === undefined && signal?.aborted) return { reason: 'stopped', detail: 'stopped by the caller', commands: 0 };
  return { reason: 'ran', commands: 0, ...(answer !== undefined ? { answer } : {}) };
}

/** Mode 1: connect, hello, serve until the end; see the module comment. */
function serve(context: RunContext): Promise<Outcome> {
  const { event, compiled } = context;
  const { log } = compiled;
  try {
    checkTlsMaterial(event);
  } catch (error) {
    return Promise.resolve({ reason: 'connect', detail: describeError(error), commands: 0 });
  }
  return new Promise<Outcome>((resolveOutcome) => {
    let commands = 0;
    let connected = false;
    let finishing = false;
    let lastError: string | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const decoder = new FrameDecoder(compiled.maxFrameBytes);

    const tls: ConnectionOptions = tlsClientOptions(event);
    const socket: TLSSocket = connect({ ...tls, host: event.addr, port: event.port });
    socket.setNoDelay(true);

    const send = (payload: string | Buffer) => {
      if (!socket.destroyed && socket.writable) socket.write(encodeFrame(payload));
    };
    const peerLinkOptions = { tls, connectTimeoutMs: compiled.connectTimeoutMs, maxFrameBytes: compiled.maxFrameBytes };
    const interpreter = interpreterFor(context, {
      onAnswerFrame: send,
      onQuit: () => void finish('quit'),
      openPeerLink: (target, handlers) => openPeerLink(target, peerLinkOptions, handlers),
    });

    const connectTimer = setTimeout(() => {
      lastError = `no TLS connection to ${event.addr}:${event.port} after ${compiled.connectTimeoutMs} ms`;
      socket.destroy();
    }, compiled.connectTimeoutMs);

    const armIdle = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        // A long job is not idleness: wait for it, then give the coordinator a full period again.
        if (interpreter.busy) {
          void interpreter.settled().then(() => {
            if (!finishing) armIdle();
          });
          return;
        }
        void finish('idle', `no command for ${compiled.idleTimeoutMs / 1000} s`);
      }, compiled.idleTimeoutMs);
    };

    const stop = () => void finish('stopped', 'stopped by the caller');
    compiled.signal?.addEventListener('abort', stop, { once: true });

    async function finish(reason: Outcome['reason'], detail?: string): Promise<void> {
      if (finishing) return;
      finishing = true;
      compiled.signal?.removeEventListener('abort', stop);
      clearTimeout(connectTimer);
      if (idleTimer) clearTimeout(idleTimer);
      log.debug({ reason, detail, commands }, 'worker ending');
      await Promise.all([interpreter.close(), closeSocket(socket)]);
      resolveOutcome({ reason, commands, ...(detail !== undefined ? { detail } : {}) });
    }

    if (compiled.signal?.aborted) stop();

    socket.once('secureConnect', () => {
      connected = true;
      clearTimeout(connectTimer);
      log.debug({ addr: event.addr, port: event.port }, 'connected to the coordinator');
      send(helloFrame(event.id));
      armIdle();
    });

    socket.on('data', (chunk: Buffer) => {
      if (finishing) return;
      let payloads: Buffer[];
      try {
        payloads = decoder.push(chunk);
      } catch (error) {
        const detail = describeError(error);
        log.warn({ err: detail }, 'bad frame from the coordinator');
        // Tell the coordinator why before hanging up, so its record names the cause.
        send(answers.fail(`protocol error: ${detail}`));
        void finish('protocol', detail);
        return;
      }
      for (const payload of payloads) {
        if (finishing) return;
        commands++;
        armIdle();
        interpreter.handle(payload);
      }
    });

    socket.on('error', (error) => {
      lastError = describeError(error);
      log.debug({ err: lastError }, 'socket error');
    });

    socket.on('close', () => {
      if (!connected) {
        void finish('connect', lastError ?? `connection to ${event.addr}:${event.port} closed before TLS was up`);
      } else {
        void finish('closed', lastError ?? 'the coordinator closed the connection');
      }
    });
  });
}

/**
 * Try the event's CA, certificate and key before dialling, so that a malformed PEM body is one line
 * naming the field (OpenSSL's reason only, never the text) instead of a throw.
 */
function checkTlsMaterial(event: WorkerEvent): void {
  for (const [field, material] of [['wrkcert', { cert: event.wrkcert }], ['wrkkey', { key: event.wrkkey }]] as const) {
    try {
      createSecureContext(material);
    } catch (error) {
      throw new ConfigError(`${field} in the event is not a usable PEM ${field === 'wrkkey' ? 'private key' : 'certificate'}: ${describeError(error)}`, { cause: error });
    }
  }
  try {
    createSecureContext({ ca: event.cacert, cert: event.wrkcert, key: event.wrkkey });
  } catch (error) {
    throw new ConfigError(`the event's TLS material is unusable (cacert, wrkcert, wrkkey): ${describeError(error)}`, { cause: error });
  }
}
