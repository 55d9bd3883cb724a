/**
 * The coordinator's TLS server: admits workers over mutual TLS and hands each admitted one to the
 * caller as a {@link WorkerConnection}. A client is admitted only if its certificate was issued by
 * the run's CA *and* its first frame is `OK:HELLO[:ID]`; everything else is dropped before the
 * caller ever sees it, and only counted in {@link WorkerServer.status}.
 *
 * Work per message is O(1): each connection owns its decoder and delivers straight to its own
 * listener; nothing scans the set of connections (mu's loop did, on every pass). What a peer can
 * make it hold is bounded: connections still in the TLS handshake, time until hello, bytes buffered
 * per connection and in total.
 */
import type tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { DEFAULT_MAX_ANSWER_BYTES, encodeFrame, FrameDecoder } from '../../protocol/frame.js';
import { DEFAULT_COORDINATOR_PORT, parseHello } from '../../protocol/messages.js';
import { ConfigError, describeError } from '../../common/errors.js';
import {
  MIN_BACKLOG,
  MIN_PENDING_HANDSHAKES,
  MutualTlsServer,
  remoteOf,
  socketErrorText,
  type HandshakeRefusal,
  type ServerCredentials,
} from '../tls/mutualTlsServer.js';

/** Long enough for thousands of simultaneous TLS handshakes queued on one busy core. */
export const DEFAULT_HELLO_TIMEOUT_MS = 30_000;
/** `OK:HELLO:` plus up to 9 digits; a longer first frame cannot be a hello. */
const MAX_HELLO_BYTES = 64;
/** Bytes of partial frames the server holds across all connections. */
export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

export type WorkerServerState = 'listening' | 'draining' | 'closed';

export interface WorkerServerOptions {
  credentials: ServerCredentials;
  /** Called once per admitted worker, synchronously after its hello. */
  onHello: (connection: WorkerConnection) => void;
  /** Interface to listen on. Default '0.0.0.0' (workers dial in from elsewhere). */
  host?: string;
  /** Port; 0 picks a free one. Default {@link DEFAULT_COORDINATOR_PORT}. */
  port?: number;
  /** Largest frame accepted from a worker, in bytes: what the job's answers need. Default {@link DEFAULT_MAX_ANSWER_BYTES}. */
  maxFrameBytes?: number;
  /**
   * Bytes of partial frames held across all connections; the connection whose bytes would go past
   * it is closed with the reason. Default {@link DEFAULT_MAX_BUFFERED_BYTES}.
   */
  maxBufferedBytes?: number;
  /**
   * Time from the TCP connection to a valid hello (`OK:HELLO[:ID]`), TLS handshake included; a
   * client that misses it is dropped. Default 30 s.
   */
  helloTimeoutMs?: number;
  /**
   * Connections still in the TLS handshake at once (no certificate checked yet: anyone can open
   * them). Beyond it the oldest is dropped, so that a flood of idle connections cannot keep real
   * workers, whose handshakes take milliseconds, out. Default max({@link MIN_PENDING_HANDSHAKES}, backlog).
   */
  maxPendingHandshakes?: number;
  /** Workers expected to connect at once; sizes the listen backlog. Default 0. */
  expectedWorkers?: number;
  /** Listen backlog. Default max({@link MIN_BACKLOG}, expectedWorkers). */
  backlog?: number;
  /** TCP keep-alive probe delay, so that vanished workers are noticed. Default 60 s; 0 disables. */
  keepAliveMs?: number;
  /** After {@link WorkerConnection.close}, how long a worker may take to hang up before it is cut. Default 5 s. */
  closeGraceMs?: number;
  /** Default: silent. Refusals are logged at debug level, without any certificate or key. */
  logger?: Logger;
}

interface CompiledOptions {
  credentials: ServerCredentials;
  onHello: (connection: WorkerConnection) => void;
  host: string;
  port: number;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  helloTimeoutMs: number;
  maxPendingHandshakes: number;
  backlog: number;
  keepAliveMs: number;
  closeGraceMs: number;
  logger: Logger;
}

/** Why a client never became a worker: in the TLS handshake (`full`: dropped for newer ones), or at its hello. */
export type RefusalKind = HandshakeRefusal | 'hello';

export interface WorkerServerStatus {
  state: WorkerServerState;
  /** Connected (TCP) clients that have not said hello yet. */
  pending: number;
  /** Of those, the ones still in the TLS handshake (bounded by `maxPendingHandshakes`). */
  handshaking: number;
  /** Bytes of partial frames held for admitted workers (bounded by `maxBufferedBytes`). */
  bufferedBytes: number;
  /** Workers admitted so far (also the next worker's id). */
  admitted: number;
  /** Admitted workers whose connection is still open. */
  open: number;
  /** Clients dropped before becoming workers, in total and by cause. */
  refused: number;
  refusedBy: Record<RefusalKind, number>;
}

/**
 * One admitted worker. Messages and the close reason are delivered to the listeners registered
 * with {@link onMessage} / {@link onClose}; anything that arrives before a listener exists is
 * kept and handed over on registration, so nothing is lost between admission and wiring.
 */
export interface WorkerConnection {
  /** Arrival order of admitted hellos, from 0 (mu's actor number). */
  readonly id: number;
  /** The invocation number the worker sent in its hello (`OK:HELLO:ID`), if any. */
  readonly invocation?: number;
  /** `address:port` of the peer, for reports. */
  readonly remote: string;
  /** Whether the connection is still usable. */
  readonly open: boolean;
  /** Send one frame (one socket write). Ignored once the connection is closed. */
  send(text: string): void;
  /** Hang up (after flushing what was sent); the close listener then gets 'closed by coordinator'. */
  close(): void;
  /** Each frame after the hello, decoded as UTF-8. One listener; a new one replaces the old. */
  onMessage(listener: (text: string) => void): void;
  /** Called exactly once, with a readable reason, when the connection ends for any reason. */
  onClose(listener: (reason: string) => void): void;
}

/**
 * A listening worker server.
 *
 * @example
 * const server = await WorkerServer.create({
 *   host: '127.0.0.1', port: 0, credentials,
 *   onHello: (worker) => {
 *     worker.onMessage((text) => console.log(worker.id, text));
 *     worker.onClose((reason) => console.log(worker.id, 'gone:', reason));
 *     worker.send('echo:hi');
 *   },
 * });
 * console.log(server.address().port);
 */
export class WorkerServer {
  private stateValue: WorkerServerState = 'listening';
  private readonly workers = new Set<TlsWorkerConnection>();
  private readonly buffers: BufferBudget;
  private readonly counts = { admitted: 0, refusedBy: { tls: 0, hello: 0, timeout: 0, closed: 0, full: 0 } };

  private constructor(
    private readonly listener: MutualTlsServer,
    private readonly options: CompiledOptions,
  ) {
    this.buffers = { bytes: 0, limit: options.maxBufferedBytes };
  }

  /** Start listening; resolves once the port is bound. Throws ConfigError on bad options. */
  static async create(options: WorkerServerOptions): Promise<WorkerServer> {
    const compiled = compileOptions(options);
    let server: WorkerServer | undefined;
    const listener = await MutualTlsServer.listen({
      credentials: compiled.credentials,
      host: compiled.host,
      port: compiled.port,
      backlog: compiled.backlog,
      handshakeTimeoutMs: compiled.helloTimeoutMs,
      maxPendingHandshakes: compiled.maxPendingHandshakes,
      keepAliveMs: compiled.keepAliveMs,
      // `server` is set before any connection is handled: the listen resolves ahead of the next I/O event.
      onAuthenticated: (socket, acceptedAt) => server!.awaitHello(socket, acceptedAt),
      onRefused: (kind, remote, reason) => server!.countRefusal(kind, remote, reason),
      // Accept errors after listening (EMFILE, ...) must not crash the coordinator.
      onServerError: (error) => compiled.logger.warn({ err: describeError(error) }, 'worker server error'),
    });
    server = new WorkerServer(listener, compiled);
    return server;
  }

  get state(): WorkerServerState {
    return this.stateValue;
  }

  /** The bound address (kept after {@link stopAccepting}, for reports). */
  address(): { host: string; port: number } {
    return this.listener.address();
  }

  status(): WorkerServerStatus {
    const refusedBy = { ...this.counts.refusedBy };
    const open = this.workers.size;
    return {
      state: this.stateValue,
      pending: Math.max(0, this.listener.connections - open),
      handshaking: this.listener.handshaking,
      bufferedBytes: this.buffers.bytes,
      admitted: this.counts.admitted,
      open,
      refused: Object.values(refusedBy).reduce((sum, n) => sum + n, 0),
      refusedBy,
    };
  }

  /** Stop listening (all expected workers arrived); connections already open carry on. */
  stopAccepting(): void {
    if (this.stateValue !== 'listening') return;
    this.stateValue = 'draining';
    this.listener.stopAccepting();
  }

  /** Drop every connection and stop listening; resolves when the server is fully closed. */
  async close(): Promise<void> {
    this.stopAccepting();
    if (this.stateValue !== 'closed') {
      this.stateValue = 'closed';
      for (const worker of [...this.workers]) worker.fail('worker server closed');
      this.listener.destroyAll();
    }
    return this.listener.closed;
  }

  /** Authenticated: the first frame must be `OK:HELLO[:ID]`, within helloTimeoutMs of the TCP connection. */
  private awaitHello(socket: tls.TLSSocket, acceptedAt: number): void {
    const remote = remoteOf(socket);
    let refusal: { kind: RefusalKind; reason: string } | undefined;
    let admitted = false;
    const refuse = (kind: RefusalKind, reason: string) => {
      refusal ??= { kind, reason };
      detach();
      socket.destroy();
    };
    const left = this.options.helloTimeoutMs - (performance.now() - acceptedAt);
    const timer = setTimeout(() => refuse('timeout', `no hello within ${this.options.helloTimeoutMs} ms`), Math.max(0, left));
    timer.unref();
    const hello = new FrameDecoder(MAX_HELLO_BYTES);
    const onData = (chunk: Buffer) => {
      // The hello decoder reads the first frame only; the bytes after it belong to the worker's decoder.
      let first: Buffer | undefined;
      try {
        first = hello.push(chunk, 1)[0];
      } catch (error) {
        refuse('hello', `bad first frame: ${describeError(error)}`);
        return;
      }
      if (first === undefined) return;
      const text = first.toString('utf8');
      const parsed = parseHello(text);
      if (!parsed) {
        refuse('hello', `first frame is not a hello: ${JSON.stringify(text.slice(0, 40))}`);
        return;
      }
      detach();
      admitted = true;
      this.admit(socket, remote, parsed.invocation, hello.takeBuffered());
    };
    const onError = (error: Error & { code?: string }) => {
      refusal ??= { kind: 'closed', reason: `connection error before hello (${socketErrorText(error)})` };
    };
    const detach = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    // Counted once, as the connection closes: a refusal names its cause, a hang-up is `closed`.
    socket.once('close', () => {
      detach();
      if (admitted) return;
      const { kind, reason } = refusal ?? { kind: 'closed', reason: 'closed before hello' };
      this.countRefusal(kind, remote, reason);
    });
    if (this.stateValue === 'closed') refuse('closed', 'worker server closed');
  }

  private admit(socket: tls.TLSSocket, remote: string, invocation: number | undefined, rest: readonly Buffer[]): void {
    const id = this.counts.admitted++;
    const connection = new TlsWorkerConnection(id, invocation, remote, socket, this.options, this.buffers, () => this.workers.delete(connection));
    this.workers.add(connection);
    this.options.logger.debug({ worker: id, invocation, remote }, 'worker admitted');
    try {
      this.options.onHello(connection);
    } catch (error) {
      this.options.logger.error({ worker: id, err: describeError(error) }, 'onHello listener threw');
      connection.fail(`internal error while admitting the worker: ${describeError(error)}`);
      return;
    }
    for (const chunk of rest) connection.receive(chunk);
  }

  private countRefusal(kind: RefusalKind, remote: string, reason: string): void {
    this.counts.refusedBy[kind]++;
    this.options.logger.debug({ remote, reason }, 'client refused');
  }
}

/** Bytes of partial frames held across connections, against their limit. */
interface BufferBudget {
  bytes: number;
  readonly limit: number;
}

/** Shorthand for {@link WorkerServer.create}. */
export function createWorkerServer(options: WorkerServerOptions): Promise<WorkerServer> {
  return WorkerServer.create(options);
}

class TlsWorkerConnection implements WorkerConnection {
  private readonly decoder: FrameDecoder;
  private messageListener: ((text: string) => void) | undefined;
  private closeListener: ((reason: string) => void) | undefined;
  /** Messages that arrived before a listener was registered. */
  private backlog: string[] = [];
  private reason: string | undefined;
  private closedReason: string | undefined;
  private isOpen = true;

  constructor(
    readonly id: number,
    readonly invocation: number | undefined,
    readonly remote: string,
    private readonly socket: tls.TLSSocket,
    private readonly options: CompiledOptions,
    private readonly buffers: BufferBudget,
    private readonly onGone: () => void,
  ) {
    this.decoder = new FrameDecoder(options.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => {
      const pending = this.decoder.buffered;
      this.reason ??= pending > 0 ? `connection closed by worker in the middle of a frame (${pending} bytes unread)` : 'connection closed by worker';
    });
    socket.on('error', (error: Error & { code?: string }) => {
      this.reason ??= error.code === 'ECONNRESET' ? 'connection reset by worker' : `connection error (${socketErrorText(error)})`;
    });
    socket.on('close', () => this.finish());
  }

  get open(): boolean {
    return this.isOpen;
  }

  send(text: string): void {
    if (!this.isOpen || this.reason !== undefined) return;
    this.socket.write(encodeFrame(text));
  }

  close(): void {
    if (!this.isOpen || this.reason !== undefined) return;
    this.reason = 'closed by coordinator';
    this.socket.end();
    setTimeout(() => this.socket.destroy(), this.options.closeGraceMs).unref();
  }

  onMessage(listener: (text: string) => void): void {
    this.messageListener = listener;
    const queued = this.backlog;
    this.backlog = [];
    for (const text of queued) this.deliver(text);
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListener = listener;
    if (this.closedReason !== undefined) this.reportClose();
  }

  /** Bytes from the socket (also the bytes that followed the hello in its chunk). */
  receive(chunk: Buffer): void {
    if (this.reason !== undefined) return;
    const before = this.decoder.buffered;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.buffers.bytes -= before;
      this.fail(`protocol error: ${describeError(error)}`);
      return;
    }
    const held = this.decoder.buffered;
    this.buffers.bytes += held - before;
    if (held > before && this.buffers.bytes > this.buffers.limit) {
      this.fail(`coordinator receive buffers full: this worker's partial frame (${held} bytes) took all connections past ${this.buffers.limit} bytes`);
      return;
    }
    for (const frame of frames) {
      if (this.reason !== undefined) return;
      this.deliver(frame.toString('utf8'));
    }
  }

  /** Cut the connection now, reporting `reason` to the close listener. */
  fail(reason: string): void {
    this.reason ??= reason;
    this.socket.destroy();
  }

  private deliver(text: string): void {
    if (!this.messageListener) {
      this.backlog.push(text);
      return;
    }
    try {
      this.messageListener(text);
    } catch (error) {
      // A throwing listener is a coordinator bug; losing this worker beats crashing the run.
      this.options.logger.error({ worker: this.id, err: describeError(error) }, 'message listener threw');
      this.fail(`internal error while handling a message: ${describeError(error)}`);
    }
  }

  private finish(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.buffers.bytes -= this.decoder.buffered;
    this.closedReason = this.reason ?? 'connection closed';
    this.backlog = [];
    this.onGone();
    if (this.closeListener) this.reportClose();
  }

  private reportClose(): void {
    const listener = this.closeListener;
    const reason = this.closedReason;
    this.closeListener = undefined;
    if (listener && reason !== undefined) listener(reason);
  }
}

function compileOptions(options: WorkerServerOptions): CompiledOptions {
  const { credentials } = options;
  if (!credentials?.caCert || !credentials.serverCert || !credentials.serverKey) {
    throw new ConfigError('worker server needs the CA certificate, the server certificate and the server key');
  }
  const port = options.port ?? DEFAULT_COORDINATOR_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid port ${port}`);
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number (got ${value})`);
    return value;
  };
  const expected = options.expectedWorkers ?? 0;
  const backlog = positive('backlog', options.backlog ?? Math.max(MIN_BACKLOG, expected));
  return {
    credentials,
    onHello: options.onHello,
    host: options.host ?? '0.0.0.0',
    port,
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_ANSWER_BYTES),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES),
    helloTimeoutMs: positive('helloTimeoutMs', options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS),
    maxPendingHandshakes: positive('maxPendingHandshakes', options.maxPendingHandshakes ?? Math.max(MIN_PENDING_HANDSHAKES, backlog)),
    backlog,
    keepAliveMs: options.keepAliveMs ?? 60_000,
    closeGraceMs: positive('closeGraceMs', options.closeGraceMs ?? 5_000),
    logger: options.logger ?? pino({ level: 'silent' }),
  };
}

