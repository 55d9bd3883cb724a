/**
 * The rendezvous relay (mu's lambda_state_server): workers that pass state to each other dial in
 * over mutual TLS, name themselves and their partner in a `HELLO_STATE:RUN:ME:PARTNER` first
 * frame, and every later frame goes, unchanged and in order, to the partner; frames for a partner
 * not connected yet are held (see heldFrames.ts). Work per frame is O(1): a map lookup and a write.
 * Admission (certificates, handshake time, handshakes at once) is the worker server's: mutualTlsServer.ts.
 */
import { once } from 'node:events';
import type tls from 'node:tls';
import { describeError } from '../../common/errors.js';
import { MutualTlsServer, remoteOf, socketErrorText, type HandshakeRefusal } from '../tls/mutualTlsServer.js';
import { encodeFrame, FrameDecoder } from '../../protocol/frame.js';
import { HeldFrames, type HeldQueue } from './heldFrames.js';
import { MAX_RELAY_HELLO_BYTES, parseRelayHello } from './relayHello.js';
import { compileRelayOptions, type CompiledRelayOptions, type RelayOptions } from './relayOptions.js';

/**
 * Bytes a partner's socket may have queued before its senders are paused. Pausing at Node's
 * high-water mark (16 KiB) would stop a sender after every state frame and halve a link's rate.
 */
const WINDOW_BYTES = 1024 * 1024;

export type RelayState = 'listening' | 'closing' | 'closed';

/** Why a connection was dropped before it was relayed for: in the TLS handshake, or at its hello. */
export type RelayRefusal = HandshakeRefusal | 'hello' | 'duplicate';

export interface RelayStatus {
  state: RelayState;
  /** Open TCP connections, whether they have said hello or not. */
  connections: number;
  /** Connections past their hello whose partner is connected too (a link both ways counts twice). */
  pairs: number;
  /** Connections past their hello whose partner is not connected. */
  waiting: number;
  /** Departed senders whose frames are still held for their partner. */
  tombstones: number;
  heldFrames: number;
  heldBytes: number;
  maxHeldBytes: number;
  /** Bytes written toward partners that their sockets have not sent yet, now and at the peak. */
  bufferedBytes: number;
  peakBufferedBytes: number;
  /** Senders not read from until their partner drains (backpressure), now. */
  throttled: number;
  /** Frames written to a partner, and their bytes on the wire, since the start. */
  relayedFrames: number;
  relayedBytes: number;
  /** Frames refused because holding them would pass maxHeldBytes. */
  refusedFrames: number;
  /** Frames dropped because their partner did not come within the tombstone timeout. */
  expiredFrames: number;
  /** Connections dropped before their hello was accepted, in total and by cause. */
  refused: number;
  refusedBy: Record<RelayRefusal, number>;
}

export interface Relay {
  readonly state: RelayState;
  /** The bound address (port 0 resolved). */
  address(): { host: string; port: number };
  /** Counters only: O(1), cheap enough to call on every status refresh. */
  status(): RelayStatus;
  /** Stop listening, drop every connection and every held frame. */
  close(): Promise<void>;
}

/** A connection past its hello. */
interface Peer {
  readonly id: string;
  readonly partnerId: string;
  readonly socket: tls.TLSSocket;
  /** Senders paused until this peer's socket drains (backpressure), while any are. */
  throttled: Set<Peer> | undefined;
}

/**
 * Start a relay; resolves once the port is bound.
 *
 * @example
 * const relay = await startRelay({ credentials, host: '127.0.0.1', port: 0 });
 * console.log(relay.address().port, relay.status().pairs);
 * await relay.close();
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const compiled = compileRelayOptions(options);
  let relay: RelayServer | undefined;
  let listener: MutualTlsServer;
  try {
    listener = await MutualTlsServer.listen({
      credentials: compiled.credentials,
      host: compiled.host,
      port: compiled.port,
      backlog: compiled.backlog,
      handshakeTimeoutMs: compiled.helloTimeoutMs,
      keepAliveMs: compiled.keepAliveMs,
      // `relay` is set before any connection is handled: the listen resolves ahead of the next I/O event.
      onAuthenticated: (socket) => relay!.onSecureConnection(socket),
      onRefused: (kind, remote, reason) => relay!.refused(kind, remote, reason),
      // Accept errors after listening (EMFILE, ...) must not bring the relay down.
      onServerError: (error) => compiled.logger.warn({ err: describeError(error) }, 'relay server error'),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`the relay cannot listen on ${compiled.host}:${compiled.port} (${code ?? describeError(error)})`, { cause: error });
  }
  relay = new RelayServer(listener, compiled);
  return relay;
}

class RelayServer implements Relay {
  private stateValue: RelayState = 'listening';
  /** The TLS sockets of connections that authenticated, until each has closed. */
  private readonly secureSockets = new Set<tls.TLSSocket>();
  private readonly peers = new Map<string, Peer>();
  /** Connected peers by the id they send to, so that an arrival finds its senders without a scan. */
  private readonly sendersTo = new Map<string, Set<Peer>>();
  private readonly held: HeldFrames;
  private readonly counts = {
    pairs: 0,
    waiting: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
    throttled: 0,
    relayedFrames: 0,
    relayedBytes: 0,
    refusedFrames: 0,
    refusedBy: { tls: 0, hello: 0, timeout: 0, duplicate: 0, closed: 0, full: 0 } as Record<RelayRefusal, number>,
  };
  private closing: Promise<void> | undefined;

  constructor(
    private readonly listener: MutualTlsServer,
    private readonly options: CompiledRelayOptions,
  ) {
    this.held = new HeldFrames(options.maxHeldBytes, options.tombstoneTimeoutMs, (queue) => this.expired(queue));
  }

  get state(): RelayState {
    return this.stateValue;
  }

  address(): { host: string; port: number } {
    return this.listener.address();
  }

  status(): RelayStatus {
    const { refusedBy, ...counts } = this.counts;
    return {
      state: this.stateValue,
      connections: this.listener.connections,
      ...counts,
      ...this.held.status(),
      maxHeldBytes: this.held.maxBytes,
      refused: Object.values(refusedBy).reduce((sum, n) => sum + n, 0),
      refusedBy: { ...refusedBy },
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stateValue = 'closing';
      const sockets = [...this.secureSockets];
      const gone = sockets.filter((socket) => !socket.closed).map((socket) => once(socket, 'close'));
      for (const socket of sockets) socket.destroy();
      this.listener.destroyAll();
      this.held.clear();
      // The listener closes once every TCP connection is gone too.
      await Promise.all([this.listener.closed, ...gone]);
      this.stateValue = 'closed';
    })();
    return this.closing;
  }

  /** An authorised client: it has helloTimeoutMs to name itself and its partner. */
  onSecureConnection(socket: tls.TLSSocket): void {
    if (this.stateValue !== 'listening') {
      socket.destroy();
      return;
    }
    this.secureSockets.add(socket);
    const hello = new FrameDecoder(MAX_RELAY_HELLO_BYTES);
    const decoder = new FrameDecoder(this.options.maxFrameBytes);
    let peer: Peer | undefined;
    let dropped = false;
    const drop = (kind: RelayRefusal | undefined, reason: string) => {
      if (dropped) return;
      dropped = true;
      clearTimeout(helloTimer);
      if (kind) this.refused(kind, remoteOf(socket), reason);
      else this.options.logger.debug({ peer: peer?.id, reason }, 'relay connection dropped');
      hangUp(socket, reason);
    };
    const helloTimer = setTimeout(() => drop('timeout', `no HELLO_STATE within ${this.options.helloTimeoutMs} ms`), this.options.helloTimeoutMs);
    helloTimer.unref();

    /**
     * The first frame, read by a decoder bounded for hellos that stops after it: the header of the
     * next frame is left for the connection's own decoder, whose bound it must meet. Returns the
     * bytes after the hello once the peer is registered.
     */
    const readHello = (chunk: Buffer): readonly Buffer[] | undefined => {
      let first: Buffer | undefined;
      try {
        first = hello.push(chunk, 1)[0];
      } catch (error) {
        drop('hello', `bad first frame: ${describeError(error)}`);
        return undefined;
      }
      if (first === undefined) return undefined;
      const parsed = parseRelayHello(first.toString('latin1'));
      if (typeof parsed === 'string') drop('hello', parsed);
      else if (this.peers.has(parsed.id)) drop('duplicate', `${parsed.id} is already connected`);
      else {
        clearTimeout(helloTimer);
        peer = { ...parsed, socket, throttled: undefined };
        this.register(peer);
        return hello.takeBuffered();
      }
      return undefined;
    };

    const relayFrom = (sender: Peer, chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        drop(undefined, `protocol error: ${describeError(error)}`);
        return;
      }
      for (let i = 0; i < frames.length && !dropped; i++) {
        const refusal = this.relay(sender, frames[i]!);
        if (refusal !== undefined) drop(undefined, refusal);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (dropped) return;
      if (peer) {
        relayFrom(peer, chunk);
        return;
      }
      const rest = readHello(chunk);
      if (!peer || !rest) return;
      for (const bytes of rest) {
        if (dropped) return;
        relayFrom(peer, bytes);
      }
    });
    socket.on('error', (error: Error & { code?: string }) => {
      this.options.logger.debug({ peer: peer?.id, err: socketErrorText(error) }, 'relay connection error');
    });
    socket.on('close', () => {
      this.secureSockets.delete(socket);
      clearTimeout(helloTimer);
      if (peer) this.unregister(peer);
      else if (!dropped) this.refused('closed', remoteOf(socket), 'closed before its hello');
    });
  }

  private register(peer: Peer): void {
    this.peers.set(peer.id, peer);
    let senders = this.sendersTo.get(peer.partnerId);
    if (!senders) this.sendersTo.set(peer.partnerId, (senders = new Set()));
    senders.add(peer);
    if (this.peers.has(peer.partnerId)) this.counts.pairs++;
    else this.counts.waiting++;
    const sendersToMe = this.sendersTo.get(peer.id);
    this.counts.waiting -= sendersToMe?.size ?? 0;
    this.counts.pairs += sendersToMe?.size ?? 0;
    this.options.logger.debug({ peer: peer.id, partner: peer.partnerId }, 'relay peer connected');

    this.held.senderReturned(peer.id, peer.partnerId);
    for (const frame of this.held.takeFor(peer.id)) this.write(peer, frame);
    // What was held is now in this socket's buffer: live senders wait until it drains.
    if (peer.socket.writableLength >= WINDOW_BYTES) for (const sender of sendersToMe ?? []) this.throttle(peer, sender);
  }

  private unregister(peer: Peer): void {
    this.peers.delete(peer.id);
    const senders = this.sendersTo.get(peer.partnerId);
    senders?.delete(peer);
    if (senders?.size === 0) this.sendersTo.delete(peer.partnerId);
    const partner = this.peers.get(peer.partnerId);
    if (partner) this.counts.pairs--;
    else this.counts.waiting--;
    const sendersToMe = this.sendersTo.get(peer.id)?.size ?? 0;
    this.counts.pairs -= sendersToMe;
    this.counts.waiting += sendersToMe;
    if (partner?.throttled?.delete(peer)) this.counts.throttled--;
    this.release(peer);
    this.held.senderLeft(peer.id, peer.partnerId);
    this.options.logger.debug({ peer: peer.id }, 'relay peer left');
  }

  /**
   * Send one frame from `from` to its partner, or hold it. When it can be neither, returns why: the
   * sender's link must then close, so that no later frame of its overtakes the refused one.
   */
  private relay(from: Peer, payload: Buffer): string | undefined {
    const frame = encodeFrame(payload);
    const to = this.peers.get(from.partnerId);
    if (to && to.socket.writable) {
      this.write(to, frame);
      if (to.socket.writableLength >= WINDOW_BYTES) this.throttle(to, from);
      return undefined;
    }
    if (this.held.hold(from.id, from.partnerId, frame)) return undefined;
    this.counts.refusedFrames++;
    const reason =
      `relay refused a frame of ${payload.byteLength} bytes from ${from.id} for ${from.partnerId}: ` +
      `${this.held.status().heldBytes} bytes are held for partners not connected, at most ${this.held.maxBytes}`;
    this.options.logger.warn({ peer: from.id, partner: from.partnerId, bytes: payload.byteLength }, reason);
    return reason;
  }

  private write(to: Peer, frame: Buffer): void {
    const counts = this.counts;
    counts.relayedFrames++;
    counts.relayedBytes += frame.byteLength;
    counts.bufferedBytes += frame.byteLength;
    if (counts.bufferedBytes > counts.peakBufferedBytes) counts.peakBufferedBytes = counts.bufferedBytes;
    // Called once the frame has left the socket's buffer, or with an error when the socket died.
    to.socket.write(frame, () => (counts.bufferedBytes -= frame.byteLength));
  }

  /** `to` is not keeping up: stop reading from `sender` until `to` drains, so nothing piles up here. */
  private throttle(to: Peer, sender: Peer): void {
    if (!to.throttled) {
      to.throttled = new Set();
      to.socket.once('drain', () => this.release(to));
    }
    if (to.throttled.has(sender)) return;
    to.throttled.add(sender);
    this.counts.throttled++;
    sender.socket.pause();
  }

  private release(to: Peer): void {
    const senders = to.throttled;
    if (!senders) return;
    to.throttled = undefined;
    this.counts.throttled -= senders.size;
    for (const sender of senders) sender.socket.resume();
  }

  private expired(queue: HeldQueue): void {
    this.options.logger.warn(
      { peer: queue.senderId, partner: queue.partnerId, frames: queue.frames.length, bytes: queue.bytes },
      `relay dropped ${queue.frames.length} frames from ${queue.senderId}: ${queue.partnerId} did not connect within ` +
        `${this.options.tombstoneTimeoutMs / 1000} s of their sender leaving`,
    );
  }

  refused(kind: RelayRefusal, remote: string, reason: string): void {
    this.counts.refusedBy[kind]++;
    this.options.logger.debug({ remote, reason }, 'relay client refused');
  }
}

/** Tell the client why in a `FAIL(...)` frame, then hang up (cut after a grace period). */
function hangUp(socket: tls.TLSSocket, reason: string): void {
  socket.pause();
  if (socket.writable) socket.end(encodeFrame(`FAIL(${reason})`));
  setTimeout(() => socket.destroy(), 2_000).unref();
}
