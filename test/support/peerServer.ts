/**
 * The far end of a worker's peer link, for tests: a mutual-TLS server on 127.0.0.1 (port 0) that
 * records each connection's frames as bytes and can send frames back. Stands in for the relay.
 *
 * @example
 * const peer = await startPeerServer({ caCert, serverCert, serverKey });
 * const link = await peer.nextConnection();
 * await link.nextFrame(); // <HELLO_STATE:run:1:2>
 */
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { encodeFrame, FrameDecoder } from '../../protocol/frame.js';
import { WAIT } from './wait.js';

export interface PeerConnection {
  readonly frames: readonly Buffer[];
  readonly closed: Promise<void>;
  /** The client certificate's subject CN. */
  readonly peerName: string | undefined;
  nextFrame(timeoutMs?: number): Promise<Buffer>;
  /** Write these payloads as frames in one write (back to back). */
  sendFrames(...payloads: Array<string | Uint8Array>): void;
  destroy(): void;
}

export interface PeerServer {
  readonly port: number;
  readonly connections: readonly PeerConnection[];
  nextConnection(timeoutMs?: number): Promise<PeerConnection>;
  close(): Promise<void>;
}

/** Wait until `ready()` holds, woken by `subscribe`; rejects after `timeoutMs` with `what`. */
function waitUntil(ready: () => boolean, waiters: Array<() => void>, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!ready()) return false;
      clearTimeout(timer);
      resolve();
      return true;
    };
    const timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
    if (check()) return;
    const wake = () => {
      if (!check()) waiters.push(wake);
    };
    waiters.push(wake);
  });
}

export async function startPeerServer(credentials: { caCert: string; serverCert: string; serverKey: string }): Promise<PeerServer> {
  const connections: Connection[] = [];
  const arrivals: Array<() => void> = [];
  let handedOut = 0;
  const server: Server = createServer(
    { ca: credentials.caCert, cert: credentials.serverCert, key: credentials.serverKey, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      connections.push(new Connection(socket));
      for (const wake of arrivals.splice(0)) wake();
    },
  );
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('peer server has no TCP address');
  return {
    port: address.port,
    connections,
    async nextConnection(timeoutMs = WAIT.timeout) {
      await waitUntil(() => connections.length > handedOut, arrivals, timeoutMs, 'no peer link');
      return connections[handedOut++]!;
    },
    async close() {
      for (const connection of connections) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

class Connection implements PeerConnection {
  readonly frames: Buffer[] = [];
  readonly closed: Promise<void>;
  readonly peerName: string | undefined;
  private taken = 0;
  private isClosed = false;
  private readonly waiters: Array<() => void> = [];
  private readonly decoder = new FrameDecoder();

  constructor(private readonly socket: TLSSocket) {
    const cn = (socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined)?.CN;
    this.peerName = Array.isArray(cn) ? cn[0] : cn;
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.decoder.push(chunk));
      this.wake();
    });
  }

  async nextFrame(timeoutMs = WAIT.timeout): Promise<Buffer> {
    await waitUntil(() => this.frames.length > this.taken || this.isClosed, this.waiters, timeoutMs, 'no frame on the peer link');
    if (this.frames.length <= this.taken) throw new Error('the peer link closed');
    return this.frames[this.taken++]!;
  }

  sendFrames(...payloads: Array<string | Uint8Array>): void {
    this.socket.write(Buffer.concat(payloads.map((payload) => encodeFrame(payload))));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
