/**
 * The mutual-TLS listener under the coordinator's worker server and the relay: a client gets past it
 * only with a certificate the run's CA issued for client use, and what clients that have not got
 * that far can hold is bounded (the handshake's time, and how many handshakes run at once). The
 * caller receives authenticated sockets and speaks its own first frame on them; every client
 * dropped before that is reported once, with why, when its connection closes.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** Node's own default (511) stalls thousands of simultaneous connects; the kernel caps it at somaxconn. */
export const MIN_BACKLOG = 1024;
/** Least bound on connections in the TLS handshake at once (the default is at least the backlog). */
export const MIN_PENDING_HANDSHAKES = 1024;

/** PEM texts: the run's CA (the only issuer admitted) and the server's own certificate and key. */
export interface ServerCredentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** Why a client was dropped before it authenticated; `full`: dropped to make room for newer handshakes. */
export type HandshakeRefusal = 'tls' | 'timeout' | 'full' | 'closed';

export interface MutualTlsServerOptions {
  credentials: ServerCredentials;
  host: string;
  port: number;
  backlog: number;
  /** Time from the TCP connection to the end of the TLS handshake. */
  handshakeTimeoutMs: number;
  /**
   * Connections still in the TLS handshake at once (no certificate checked yet: anyone can open
   * them). Beyond it the oldest is dropped, so that a flood of idle connections cannot keep real
   * clients, whose handshakes take milliseconds, out. Default max({@link MIN_PENDING_HANDSHAKES}, backlog).
   */
  maxPendingHandshakes?: number;
  /** TCP keep-alive probe delay on authenticated sockets, so that vanished peers are noticed; 0 disables. */
  keepAliveMs: number;
  /** An authenticated client; `acceptedAt` (performance.now()) is when its TCP connection arrived. */
  onAuthenticated: (socket: tls.TLSSocket, acceptedAt: number) => void;
  /** A client dropped before it authenticated: called once, as its connection closes. */
  onRefused: (kind: HandshakeRefusal, remote: string, reason: string) => void;
  /** Errors after listening (EMFILE, ...): reported, never fatal. */
  onServerError: (error: Error) => void;
}

/** A TCP connection that has not authenticated yet. */
interface Arrival {
  readonly key: string;
  readonly raw: Socket;
  readonly acceptedAt: number;
  authenticated: boolean;
  /** Why it is being dropped; reported once, when its socket closes. */
  refusal: { kind: HandshakeRefusal; reason: string } | undefined;
}

/**
 * @example
 * const server = await MutualTlsServer.listen({ credentials, host: '127.0.0.1', port: 0, backlog: 1024, handshakeTimeoutMs: 30_000, keepAliveMs: 60_000,
 *   onAuthenticated: (socket) => socket.on('data', read), onRefused: (kind, remote, reason) => log.debug({ remote, reason }), onServerError: warn });
 * console.log(server.address().port);
 */
export class MutualTlsServer {
  /** Every TCP connection, authenticated or not, so that {@link destroyAll} can cut them all. */
  private readonly sockets = new Set<Socket>();
  /** Connections in the TLS handshake, oldest first, by {@link connectionKey}. */
  private readonly handshakes = new Map<string, Arrival>();
  private readonly listenAddress: { host: string; port: number };
  private readonly maxPendingHandshakes: number;
  private listening = true;
  private cutting = false;
  /** Resolves once the server stopped listening and every connection is gone. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly server: tls.Server,
    private readonly options: MutualTlsServerOptions,
  ) {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('TLS server is not listening on TCP');
    this.listenAddress = { host: address.address, port: address.port };
    this.maxPendingHandshakes = options.maxPendingHandshakes ?? Math.max(MIN_PENDING_HANDSHAKES, options.backlog);
    this.closed = new Promise((resolve) => server.once('close', () => resolve()));
    server.on('connection', (raw: Socket) => this.onConnection(raw));
    server.on('secureConnection', (socket: tls.TLSSocket) => this.onSecureConnection(socket));
    // Emitted for a handshake that fails, times out, or whose peer hangs up. With a listener, Node
    // leaves the socket open: without the destroy here, idle connections would pile up for ever.
    server.on('tlsClientError', (error: Error & { code?: string }, socket: tls.TLSSocket) => {
      const arrival = this.arrivalOf(socket);
      if (arrival) {
        arrival.refusal ??=
          error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
            ? { kind: 'timeout', reason: `no TLS handshake within ${options.handshakeTimeoutMs} ms` }
            : { kind: 'tls', reason: `TLS handshake failed (${socketErrorText(error)})` };
      }
      socket.destroy();
    });
    server.on('error', (error) => options.onServerError(error));
  }

  /** Start listening; resolves once the port is bound, rejects with the listen error (its `code` intact). */
  static async listen(options: MutualTlsServerOptions): Promise<MutualTlsServer> {
    const server = tls.createServer({
      key: options.credentials.serverKey,
      cert: options.credentials.serverCert,
      ca: options.credentials.caCert,
      requestCert: true,
      // The certificate is checked in onSecureConnection, where the refusal can be reported and
      // explained; a client that is not authorised never gets further than that check.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new MutualTlsServer(server, options);
  }

  /** The bound address (port 0 resolved; kept after {@link stopAccepting}). */
  address(): { host: string; port: number } {
    return { ...this.listenAddress };
  }

  /** Open TCP connections, authenticated or not. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Connections still in the TLS handshake (bounded by `maxPendingHandshakes`). */
  get handshaking(): number {
    return this.handshakes.size;
  }

  /** Stop listening; connections already open carry on. */
  stopAccepting(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
  }

  /** Stop listening and cut every TCP connection, now and any that still arrives. */
  destroyAll(): void {
    this.stopAccepting();
    this.cutting = true;
    for (const raw of [...this.sockets]) raw.destroy();
  }

  /** A TCP connection: it has handshakeTimeoutMs from now to authenticate. */
  private onConnection(raw: Socket): void {
    const key = connectionKey(raw);
    if (this.cutting || key === undefined) {
      raw.destroy();
      return;
    }
    if (this.handshakes.size >= this.maxPendingHandshakes) this.dropOldestHandshake();
    const arrival: Arrival = { key, raw, acceptedAt: performance.now(), authenticated: false, refusal: undefined };
    this.handshakes.set(key, arrival);
    this.sockets.add(raw);
    raw.once('close', () => {
      this.sockets.delete(raw);
      if (this.handshakes.get(key) === arrival) this.handshakes.delete(key);
      if (arrival.authenticated) return;
      const { kind, reason } = arrival.refusal ?? { kind: 'closed', reason: 'closed during the TLS handshake' };
      this.options.onRefused(kind, remoteOf(raw), reason);
    });
  }

  /** Keeps the flood's oldest idle connection from holding a slot a real client needs now. */
  private dropOldestHandshake(): void {
    const oldest = this.handshakes.values().next().value;
    if (!oldest) return;
    this.handshakes.delete(oldest.key);
    oldest.refusal ??= { kind: 'full', reason: `more than ${this.maxPendingHandshakes} connections in the TLS handshake at once; dropped the oldest` };
    oldest.raw.destroy();
  }

  private arrivalOf(socket: tls.TLSSocket): Arrival | undefined {
    const key = connectionKey(socket);
    return key === undefined ? undefined : this.handshakes.get(key);
  }

  /** TLS is up: only a certificate the run's CA issued for client use goes on to the caller. */
  private onSecureConnection(socket: tls.TLSSocket): void {
    const arrival = this.arrivalOf(socket);
    if (!arrival) {
      // Closed or dropped while the handshake finished.
      socket.destroy();
      return;
    }
    this.handshakes.delete(arrival.key);
    if (!socket.authorized) {
      arrival.refusal ??= { kind: 'tls', reason: `client certificate refused (${String(socket.authorizationError ?? 'none')})` };
      socket.destroy();
      return;
    }
    arrival.authenticated = true;
    socket.setNoDelay(true);
    if (this.options.keepAliveMs > 0) socket.setKeepAlive(true, this.options.keepAliveMs);
    this.options.onAuthenticated(socket, arrival.acceptedAt);
  }
}

/**
 * Names one live TCP connection by its four addresses, the same for the TCP socket and the TLS
 * socket on top of it (Node hands the two to different events and links them by no public field).
 */
function connectionKey(socket: Socket): string | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  return `${localAddress ?? ''} ${localPort ?? ''} ${remoteAddress} ${remotePort}`;
}

/** `address:port` of the peer, for reports. */
export function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** A socket error in one line: its code, else the first line of its message. */
export function socketErrorText(error: Error & { code?: string }): string {
  return error.code ?? error.message.split('\n', 1)[0]!.trim();
}
