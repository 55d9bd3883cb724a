/**
 * The dashboard and the inspector bridge serve plain HTTP on 127.0.0.1. A loopback port is still
 * reachable from any page open in the user's browser, so a server bound to loopback accepts only
 * requests addressed to `localhost` or to the very address it is bound to (a DNS name such as
 * `127.attacker.example` that resolves to loopback is a rebinding attack), and WebSocket upgrades
 * from its own pages or from non-browser clients (no cross-site WebSocket reads). Bound elsewhere
 * by choice, the Host check is off.
 *
 * @example if (!localRequestAllowed(req, { loopback: true })) { res.writeHead(403).end(); return; }
 */
import type { IncomingMessage } from 'node:http';

/** True when `host` (a bind address) is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

function hostName(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const colon = header.lastIndexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

/** The address a request came in on, as it is written in a Host header (`[::1]` for IPv6). */
function boundName(request: IncomingMessage): string | undefined {
  const address = request.socket.localAddress;
  if (address === undefined) return undefined;
  return address.includes(':') ? `[${address}]` : address;
}

export function localRequestAllowed(request: IncomingMessage, options: { loopback: boolean }): boolean {
  const host = request.headers.host ?? '';
  if (options.loopback) {
    const name = hostName(host).toLowerCase();
    if (name !== 'localhost' && name !== boundName(request)) return false;
  }
  const origin = request.headers.origin;
  // Browsers always send Origin on WebSocket upgrades and cross-site fetches; tools usually do not.
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
