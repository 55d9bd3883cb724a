/**
 * What the Stately inspector and `--inspect-record` may see of a context, an event or an input:
 * plain data only, bounded in depth, width and length. Live objects (sockets, buffers, actor refs,
 * class instances) become a short `[Name]` marker without being walked, since walking a socket is
 * slow and may reach keys; fields named like credentials and PEM text are redacted whatever their
 * place. Measured here: `sanitizeContext` is also called with an undefined context (callback
 * actors), so every input is allowed.
 *
 * @example sanitizeInspected({ socket: new Socket(), chunk: 3 }) // { socket: '[Socket]', chunk: 3 }
 */

export interface SanitizeLimits {
  /** Deepest nesting kept; deeper values become `'[…]'`. Default 6. */
  depth?: number;
  /** Most array items kept; the rest are counted in a trailing marker. Default 50. */
  items?: number;
  /** Most object keys kept. Default 100. */
  keys?: number;
  /** Longest string kept, in characters. Default 2000. */
  chars?: number;
}

const DEFAULT_LIMITS: Required<SanitizeLimits> = { depth: 6, items: 50, keys: 100, chars: 2000 };

/** Field names whose values are never shown (the invocation payload's and the credentials' keys). */
const SECRET_KEY = /^(cacert|wrkcert|wrkkey|srvcrt|srvkey|cakey|serverkey|workerkey|privatekey|secret|password|token|credentials?|authorization|sessiontoken|secretaccesskey)$/i;
const PEM = /-----BEGIN [A-Z ]+-----/;

export function sanitizeInspected(value: unknown, limits: SanitizeLimits = {}): unknown {
  const resolved = { ...DEFAULT_LIMITS, ...limits };
  return clean(value, resolved, 0);
}

function clean(value: unknown, limits: Required<SanitizeLimits>, depth: number): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'string':
      if (PEM.test(value)) return '[redacted PEM]';
      return value.length > limits.chars ? `${value.slice(0, limits.chars)}… (${value.length} chars)` : value;
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return `[function ${value.name || 'anonymous'}]`;
  }
  if (value === null) return null;
  if (depth >= limits.depth) return '[…]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, limits.items).map((item) => clean(item, limits, depth + 1));
    if (value.length > limits.items) kept.push(`… ${value.length - limits.items} more`);
    return kept;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (value instanceof Error) return `[${value.name}: ${clean(value.message, limits, depth + 1) as string}]`;
    const name = (value as { constructor?: { name?: string } }).constructor?.name || 'object';
    return `[${name}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const out: Record<string, unknown> = {};
  for (const key of keys.slice(0, limits.keys)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : clean(record[key], limits, depth + 1);
  if (keys.length > limits.keys) out['…'] = `${keys.length - limits.keys} more keys`;
  return out;
}
