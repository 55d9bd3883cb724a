/**
 * The dashboard and the inspector bridge serve plain HTTP on 127.0.0.1. A loopback port is still
 * reachable from any page open in the user's browser, so a server bound to loopback accepts only
 * requests addressed to a loopback name (no DNS rebinding) and WebSocket upgrades from its own
 * pages or from non-browser clients (no cross-site WebSocket reads). Bound elsewhere by choice,
 * the Host check is off.
 *
 * @example if (!localRequestAllowed(req, { loopback: true })) { res.writeHead(403).end(); return; }
 */
import type { IncomingMessage } from 'node:http';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True when `host` (a bind address) is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

function hostName(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const colon = header.lastIndexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

export function localRequestAllowed(request: IncomingMessage, options: { loopback: boolean }): boolean {
  const host = request.headers.host ?? '';
  if (options.loopback && !LOOPBACK_NAMES.has(hostName(host)) && !hostName(host).startsWith('127.')) return false;
  const origin = request.headers.origin;
  // Browsers always send Origin on WebSocket upgrades and cross-site fetches; tools usually do not.
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
