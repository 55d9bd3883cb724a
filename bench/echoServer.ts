/**
 * The baseline for bench/swarm: a bare framed-TLS server with the coordinator's TLS setup (mutual
 * TLS, the same ECDSA credentials, TLS >= 1.2, sized backlog, no Nagle) and none of its machinery.
 * Per connection it reads the hello, then plays a fixed script in the png2y4m machine's own round
 * trips: it sends one group of commands (one write per frame, as the coordinator does), waits for
 * as many answers, sends the next group, and so on; then `quit:`, and it hangs up. The swarm
 * answers each command at once, so the server effectively echoes round trips.
 */
import tls from 'node:tls';
import { encodeFrame, FrameDecoder } from '../protocol/frame.js';
import { parseHello } from '../protocol/messages.js';

export interface EchoServerOptions {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Round trips played on every connection: groups of commands, each answered with `OK...`. */
  script: ReadonlyArray<readonly string[]>;
  /** Conversations to wait for; `finished` resolves when that many have ended. */
  expected: number;
  backlog: number;
  handshakeTimeoutMs: number;
}

export interface EchoOutcome {
  /** Conversations that got every answer and were told `quit:`. */
  completed: number;
  failed: number;
  firstFailure?: string;
}

/**
 * @example
 * const server = await EchoServer.create({ ...credentials, script, expected: 100, backlog: 1024, handshakeTimeoutMs: 30_000 });
 * const outcome = await server.finished;
 * await server.close();
 */
export class EchoServer {
  readonly finished: Promise<EchoOutcome>;
  private readonly outcome: EchoOutcome = { completed: 0, failed: 0 };
  private resolveFinished!: (outcome: EchoOutcome) => void;

  private constructor(
    private readonly server: tls.Server,
    private readonly options: EchoServerOptions,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    server.on('secureConnection', (socket) => this.converse(socket));
    server.on('tlsClientError', (error) => this.end(`TLS: ${error.message}`));
  }

  static async create(options: EchoServerOptions): Promise<EchoServer> {
    const server = tls.createServer({
      key: options.serverKey,
      cert: options.serverCert,
      ca: options.caCert,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, backlog: options.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new EchoServer(server, options);
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private converse(socket: tls.TLSSocket): void {
    const { script } = this.options;
    const decoder = new FrameDecoder();
    let step = -1; // -1: waiting for the hello
    let owed = 1; // answers still due for the current step
    let ended = false;
    const finish = (failure?: string) => {
      if (ended) return;
      ended = true;
      this.end(failure);
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        finish(String(error));
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        const text = frame.toString('utf8');
        if (step < 0 ? !parseHello(text) : !text.startsWith('OK')) {
          finish(`unexpected ${JSON.stringify(text.slice(0, 60))} at step ${step}`);
          socket.destroy();
          return;
        }
        if (--owed > 0) continue;
        step++;
        if (step < script.length) {
          const group = script[step]!;
          owed = group.length;
          for (const command of group) socket.write(encodeFrame(command));
        } else {
          socket.write(encodeFrame('quit:'));
          socket.end();
          finish();
          return;
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish('closed early'));
  }

  private end(failure?: string): void {
    if (failure === undefined) this.outcome.completed++;
    else {
      this.outcome.failed++;
      this.outcome.firstFailure ??= failure;
    }
    if (this.outcome.completed + this.outcome.failed === this.options.expected) this.resolveFinished({ ...this.outcome });
  }
}
