/**
 * One mutual-TLS link from the worker to a relay or a peer (mu's `connect:`), framed like the
 * command link. It only moves frames, as bytes; what they mean (state files) is decided by
 * worker/peerSession.ts, so this stays the only socket code of peer links.
 */
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { describeError } from '../common/errors.js';
import { encodeFrame, FrameDecoder } from '../protocol/frame.js';
import { closeSocket } from './closeSocket.js';

export interface PeerTarget {
  host: string;
  port: number;
}

/** Where a link's frames and its end are reported; neither is called after {@link PeerLink.close}. */
export interface PeerLinkHandlers {
  onFrame(payload: Buffer): void;
  /** The link ended without `close()`: the peer hung up, a socket error, a malformed frame. */
  onLost(detail: string): void;
}

export interface PeerLink {
  readonly state: 'open' | 'closed';
  /** Write one frame; resolves once it is handed to the kernel, rejects if the link is gone. */
  send(payload: string | Uint8Array): Promise<void>;
  /** End the link after flushing what was sent (destroyed after a short grace); idempotent. */
  close(): Promise<void>;
}

/** Opens a link to `target` (bound to the worker's TLS identity by the caller). */
export type PeerLinkOpener = (target: PeerTarget, handlers: PeerLinkHandlers) => Promise<PeerLink>;

export interface PeerLinkOptions {
  /** CA, the worker's certificate and key, and how the far end is checked (worker/tlsClientOptions.ts). */
  tls: ConnectionOptions;
  connectTimeoutMs: number;
  maxFrameBytes: number;
}


/**
 * Dial `target` and resolve once TLS is up (the far end verified); rejects with one line naming
 * the target and the cause (refused, timeout, certificate).
 *
 * @example
 * const link = await openPeerLink({ host: '10.0.0.5', port: 13337 }, options, { onFrame, onLost });
 * await link.send('HELLO_STATE:run:1:2');
 */
export function openPeerLink(target: PeerTarget, options: PeerLinkOptions, handlers: PeerLinkHandlers): Promise<PeerLink> {
  const where = `${target.host}:${target.port}`;
  return new Promise<PeerLink>((resolve, reject) => {
    const socket: TLSSocket = connect({ ...options.tls, host: target.host, port: target.port });
    socket.setNoDelay(true);
    let link: SocketPeerLink | undefined;
    let firstError: unknown;
    const timer = setTimeout(() => {
      firstError = new Error(`no TLS connection after ${options.connectTimeoutMs} ms`);
      socket.destroy();
    }, options.connectTimeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      link = new SocketPeerLink(socket, options.maxFrameBytes, handlers);
      resolve(link);
    });
    socket.on('error', (error) => {
      firstError ??= error;
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (link) link.lost(firstError === undefined ? 'the peer closed the link' : describeError(firstError));
      else reject(new Error(`connect to ${where}: ${firstError === undefined ? 'closed before TLS was up' : describeError(firstError)}`, { cause: firstError }));
    });
  });
}

class SocketPeerLink implements PeerLink {
  private closing: Promise<void> | undefined;
  private ended = false;
  private readonly decoder: FrameDecoder;

  constructor(
    private readonly socket: TLSSocket,
    maxFrameBytes: number,
    private readonly handlers: PeerLinkHandlers,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  get state(): 'open' | 'closed' {
    return this.ended || this.closing !== undefined ? 'closed' : 'open';
  }

  send(payload: string | Uint8Array): Promise<void> {
    if (this.state !== 'open' || !this.socket.writable) return Promise.reject(new Error('the peer link is closed'));
    return new Promise((resolve, reject) => {
      this.socket.write(encodeFrame(payload), (error) => (error ? reject(new Error(`peer link write failed: ${describeError(error)}`, { cause: error })) : resolve()));
    });
  }

  close(): Promise<void> {
    this.closing ??= closeSocket(this.socket);
    return this.closing;
  }

  /** The socket closed: report it unless we closed it ourselves. */
  lost(detail: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.closing === undefined) this.handlers.onLost(detail);
  }

  private receive(chunk: Buffer): void {
    if (this.state !== 'open') return;
    let payloads: Buffer[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (error) {
      // The stream cannot be resynchronised after a bad header: give the link up, keep the worker.
      this.lost(`bad frame on the peer link: ${describeError(error)}`);
      this.socket.destroy();
      return;
    }
    for (const payload of payloads) this.handlers.onFrame(payload);
  }
}
