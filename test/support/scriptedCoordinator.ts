/**
 * A stand-in coordinator for tests: a real mutual-TLS server on 127.0.0.1 that accepts workers,
 * records every frame they send, and lets the test send commands (or raw bytes) and wait for
 * answers. It plays scripts, not state machines, so worker tests do not depend on `machines/`.
 *
 * @example
 * const coordinator = await startScriptedCoordinator({ credentials });
 * const worker = runWorker({ ...event, port: coordinator.port });
 * const session = await coordinator.nextSession();
 * await session.play([{ send: 'echo:hi' }, { send: 'quit:', expect: null }]);
 */
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { encodeFrame, FrameDecoder } from '../../protocol/frame.js';
import { defaultExpect } from '../../protocol/messages.js';
import type { RunCredentials } from '../../runtime/tls/certs.js';
import { WAIT } from './wait.js';

export interface ScriptedCoordinatorOptions {
  /** CA that client certificates must chain to, and the server's own certificate and key. */
  credentials: Pick<RunCredentials, 'caCert' | 'serverCert' | 'serverKey'>;
  /** Default wait for an answer or a session (default {@link WAIT}'s). */
  timeoutMs?: number;
}

/** One scripted step: send a command, then wait for an answer starting with `expect`. */
export interface ScriptStep {
  send: string;
  /**
   * Prefix the next answer must start with (default: mu's default answer of the command, e.g.
   * `OK:SET` for `set:`); `null` = send and do not wait (for `quit:`).
   */
  expect?: string | null;
}

export interface CoordinatorSession {
  /** Every frame the worker sent, in order, starting with its hello. */
  readonly frames: readonly string[];
  /** The same frames as the bytes received (for byte-exact checks). */
  readonly rawFrames: readonly Buffer[];
  /** Resolves when the connection has closed. */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  /** The peer certificate's subject CN, as verified by mutual TLS. */
  readonly peerName: string | undefined;
  /** Send one command as one frame. */
  send(command: string): void;
  /** Write raw bytes (malformed or oversize frames). */
  sendRaw(bytes: string | Uint8Array): void;
  /** The next frame not yet taken (the hello first). Rejects after the timeout or on close. */
  next(timeoutMs?: number): Promise<string>;
  /** Send each step's command and check the next frame starts with its expectation; returns those frames. */
  play(steps: readonly ScriptStep[], timeoutMs?: number): Promise<string[]>;
  /** Close this connection (FIN). */
  end(): void;
  /** Tear it down (RST-like). */
  destroy(): void;
}

export interface ScriptedCoordinator {
  readonly port: number;
  /** TLS handshakes the server refused (bad client certificate, no certificate, ...). */
  readonly refusedHandshakes: number;
  readonly sessions: readonly CoordinatorSession[];
  /** The next worker to connect (sessions are handed out in arrival order). */
  nextSession(timeoutMs?: number): Promise<CoordinatorSession>;
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = WAIT.timeout;

/** Start listening on 127.0.0.1 with an ephemeral port. */
export async function startScriptedCoordinator(options: ScriptedCoordinatorOptions): Promise<ScriptedCoordinator> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sessions: Session[] = [];
  let handedOut = 0;
  let refusedHandshakes = 0;
  const arrivals: Array<() => void> = [];

  const server: Server = createServer(
    {
      ca: options.credentials.caCert,
      cert: options.credentials.serverCert,
      key: options.credentials.serverKey,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      sessions.push(new Session(socket, timeoutMs));
      for (const wake of arrivals.splice(0)) wake();
    },
  );
  server.on('tlsClientError', () => {
    refusedHandshakes++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('scripted coordinator has no TCP address');

  return {
    port: address.port,
    get refusedHandshakes() {
      return refusedHandshakes;
    },
    sessions,
    async nextSession(wait = timeoutMs) {
      const deadline = Date.now() + wait;
      while (sessions.length <= handedOut) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no worker connected within ${wait} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          arrivals.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return sessions[handedOut++]!;
    },
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

class Session implements CoordinatorSession {
  readonly frames: string[] = [];
  readonly rawFrames: Buffer[] = [];
  readonly closed: Promise<void>;
  private taken = 0;
  private closedFlag = false;
  private readonly waiters: Array<() => void> = [];
  private readonly decoder = new FrameDecoder();

  constructor(
    private readonly socket: TLSSocket,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closedFlag = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => {
      // The worker hanging up is part of what tests check; 'close' follows.
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const payload of this.decoder.push(chunk)) {
          this.rawFrames.push(payload);
          this.frames.push(payload.toString('utf8'));
        }
      } catch {
        socket.destroy();
      }
      this.wake();
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  get peerName(): string | undefined {
    const subject = this.socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
    const cn = subject?.CN;
    return Array.isArray(cn) ? cn[0] : cn;
  }

  send(command: string): void {
    this.socket.write(encodeFrame(command));
  }

  sendRaw(bytes: string | Uint8Array): void {
    this.socket.write(bytes);
  }

  async next(timeoutMs = this.timeoutMs): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length <= this.taken) {
      if (this.closedFlag) throw new Error(`connection closed; frames so far: ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms; frames so far: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames[this.taken++]!;
  }

  async play(steps: readonly ScriptStep[], timeoutMs = this.timeoutMs): Promise<string[]> {
    const got: string[] = [];
    for (const step of steps) {
      this.send(step.send);
      const expect = step.expect === undefined ? defaultExpect(step.send) : step.expect;
      if (expect === null) continue;
      const frame = await this.next(timeoutMs);
      got.push(frame);
      if (!frame.startsWith(expect)) {
        throw new Error(`after ${JSON.stringify(step.send)} expected an answer starting ${JSON.stringify(expect)}, got ${JSON.stringify(frame)}`);
      }
    }
    return got;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
