/**
 * A scriptable TLS client for worker-server tests: connects like a worker would (or like an
 * impostor would, with the wrong certificate or none), sends frames or raw bytes, and collects
 * the frames the server sends back.
 */
import { connect as netConnect, type Socket } from 'node:net';
import tls from 'node:tls';
import { encodeFrame, FrameDecoder } from '../../protocol/frame.js';
import { COORDINATOR_NAME } from '../../runtime/tls/certs.js';
import { WAIT } from './wait.js';

export interface TlsClientOptions {
  port: number;
  ca: string;
  cert?: string;
  key?: string;
  servername?: string;
}

export interface TlsTestClient {
  socket: tls.TLSSocket;
  /** The TCP socket under the TLS one (e.g. to reset the connection). */
  raw: Socket;
  /** Frames received so far, decoded as UTF-8. */
  frames: string[];
  send(text: string): void;
  sendRaw(bytes: string | Buffer): void;
  /** Resolves with the next frame not yet taken (rejects after timeoutMs). */
  nextFrame(timeoutMs?: number): Promise<string>;
  /** Resolves when the socket has closed, with the first error seen (if any). */
  closed: Promise<{ error?: string }>;
  isClosed(): boolean;
}

/** Connect and wait for the client side of the handshake (in TLS 1.3 the server may still refuse after it). */
export function connectTlsClient(options: TlsClientOptions): Promise<TlsTestClient> {
  return new Promise((resolve, reject) => {
    const raw = netConnect({ host: '127.0.0.1', port: options.port });
    const socket = tls.connect({
      socket: raw,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      servername: options.servername ?? COORDINATOR_NAME,
    });
    const frames: string[] = [];
    let taken = 0;
    let waiter: (() => void) | undefined;
    let firstError: string | undefined;
    let closedFlag = false;
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) frames.push(frame.toString('utf8'));
      waiter?.();
    });
    const closed = new Promise<{ error?: string }>((resolveClosed) => {
      socket.on('close', () => {
        closedFlag = true;
        waiter?.();
        resolveClosed(firstError === undefined ? {} : { error: firstError });
      });
    });
    socket.on('error', (error: Error & { code?: string }) => {
      firstError ??= error.code ?? error.message;
      if (!socket.remoteAddress || !connected) reject(error);
    });
    let connected = false;
    socket.once('secureConnect', () => {
      connected = true;
      resolve({
        socket,
        raw,
        frames,
        closed,
        isClosed: () => closedFlag,
        send: (text) => socket.write(encodeFrame(text)),
        sendRaw: (bytes) => socket.write(bytes),
        nextFrame: (timeoutMs = WAIT.timeout) =>
          new Promise<string>((resolveFrame, rejectFrame) => {
            const check = () => {
              if (taken < frames.length) {
                clearTimeout(timer);
                waiter = undefined;
                resolveFrame(frames[taken++]!);
              } else if (closedFlag) {
                clearTimeout(timer);
                waiter = undefined;
                rejectFrame(new Error('connection closed while waiting for a frame'));
              }
            };
            const timer = setTimeout(() => {
              waiter = undefined;
              rejectFrame(new Error(`no frame within ${timeoutMs} ms`));
            }, timeoutMs);
            waiter = check;
            check();
          }),
      });
    });
  });
}
