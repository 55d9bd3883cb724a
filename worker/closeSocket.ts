/**
 * Ending a TLS connection the worker made, the same way for the command link and peer links: end
 * it politely so what was written is flushed (answers, a state just sent), and destroy it if the
 * far end does not finish closing within a short grace.
 */
import type { TLSSocket } from 'node:tls';

/** How long a closing socket may take to flush before it is destroyed. */
export const CLOSE_GRACE_MS = 2_000;

/**
 * Resolves once `socket` has closed (at once if it already has).
 *
 * @example await closeSocket(socket) // after socket.end(), or a destroy 2 s later
 */
export function closeSocket(socket: TLSSocket, graceMs = CLOSE_GRACE_MS): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}
