/**
 * The reference tool's file-name filter: scan the name with the filter as a `scanf` format into an
 * int `n` (left at -1 if nothing is assigned), print `n` back with the filter as a `printf`
 * format, and keep the name iff the two strings are equal. Only filters with at most one integer
 * conversion (`%d`, `%08d`, `%i`, `%u`, ...) are meaningful; names are byte strings (latin1).
 *
 * @example
 * const accept = compileMaskFilter('%08d.png');
 * accept('00000001.png') // true
 * accept('1.png')        // false
 */
import { isCSpace } from './atol.js';

type Token =
  | { kind: 'literal'; text: string }
  | { kind: 'space' }
  | { kind: 'percent' }
  | { kind: 'conversion'; flags: string; width: number | null; precision: number | null; length: string; conv: string; raw: string };

/** Longest string the reference tool keeps from printf (its buffer is 8191 bytes). */
const PRINTF_LIMIT = 8190;

export function compileMaskFilter(filter: string): (name: string) => boolean {
  const tokens = tokenize(filter);
  return (name) => formatInt(tokens, scanInt(tokens, name)) === name;
}

/** What `sscanf(name, filter, &n)` leaves in n (starting from -1). */
export function scanInt(tokens: readonly Token[] | string, name: string): number {
  const list = typeof tokens === 'string' ? tokenize(tokens) : tokens;
  let pos = 0;
  for (const token of list) {
    switch (token.kind) {
      case 'literal':
        for (const ch of token.text) {
          if (name[pos] !== ch) return -1;
          pos++;
        }
        break;
      case 'space':
        while (pos < name.length && isCSpace(name.charCodeAt(pos))) pos++;
        break;
      case 'percent':
        if (name[pos] !== '%') return -1;
        pos++;
        break;
      case 'conversion': {
        // scanf has no flags: `%08d` is width 08, and `-`, `+`, ` `, `#` or a precision make the
        // directive invalid, which ends the scan. Only `*` (suppress assignment) may come first.
        const suppress = token.flags.startsWith('*');
        const zeros = suppress ? token.flags.slice(1) : token.flags;
        if (!/^0*$/.test(zeros) || token.precision !== null) return -1;
        if (!'diu'.includes(token.conv)) return -1;
        const width = zeros === '' && token.width === null ? null : Number(zeros + (token.width ?? ''));
        const parsed = scanNumber(name, pos, width, token.conv);
        if (parsed === null) return -1;
        if (suppress) {
          pos = parsed.end;
          break;
        }
        return parsed.value;
      }
    }
  }
  return -1;
}

/** What `snprintf(buf, 8191, filter, n)` produces. */
export function formatInt(tokens: readonly Token[] | string, n: number): string {
  const list = typeof tokens === 'string' ? tokenize(tokens) : tokens;
  let out = '';
  let used = false;
  for (const token of list) {
    if (token.kind === 'literal') out += token.text;
    else if (token.kind === 'space') out += ' ';
    else if (token.kind === 'percent') out += '%';
    else if (!'diu'.includes(token.conv) || used) out += token.raw; // undefined in C; keep it visible
    else {
      out += formatOne(token, n);
      used = true;
    }
  }
  return out.length > PRINTF_LIMIT ? out.slice(0, PRINTF_LIMIT) : out;
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal) tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  for (let i = 0; i < filter.length; ) {
    const ch = filter[i]!;
    if (ch === '%') {
      const match = /^%([-+ #0*]*)(\d+)?(?:\.(\d*))?(hh|h|ll|l|j|z|t|L|q)?([a-zA-Z%])?/.exec(filter.slice(i))!;
      flush();
      const raw = match[0];
      if (raw === '%%') tokens.push({ kind: 'percent' });
      else {
        tokens.push({
          kind: 'conversion',
          flags: match[1] ?? '',
          width: match[2] === undefined ? null : Number(match[2]),
          precision: match[3] === undefined ? null : Number(match[3] || '0'),
          length: match[4] ?? '',
          conv: match[5] ?? '',
          raw,
        });
      }
      i += raw.length;
    } else if (isCSpace(filter.charCodeAt(i))) {
      flush();
      if (tokens.at(-1)?.kind !== 'space') tokens.push({ kind: 'space' });
      i++;
    } else {
      literal += ch;
      i++;
    }
  }
  flush();
  return tokens;
}

/** glibc scanf integer input: skip blanks, sign, digits, all within `width` characters. */
function scanNumber(name: string, start: number, width: number | null, conv: string): { value: number; end: number } | null {
  let pos = start;
  while (pos < name.length && isCSpace(name.charCodeAt(pos))) pos++;
  const limit = width === null || width === 0 ? Infinity : width;
  let used = 0;
  let negative = false;
  if (used < limit && (name[pos] === '+' || name[pos] === '-')) {
    negative = name[pos] === '-';
    pos++;
    used++;
  }
  let base = 10;
  if (conv === 'i' && name[pos] === '0' && used < limit) {
    base = 8;
    if ((name[pos + 1] === 'x' || name[pos + 1] === 'X') && used + 2 < limit && isDigit(name.charCodeAt(pos + 2), 16)) {
      base = 16;
      pos += 2;
      used += 2;
    }
  }
  let magnitude = 0n;
  let digits = 0;
  while (used < limit && pos < name.length && isDigit(name.charCodeAt(pos), base)) {
    if (magnitude < 1n << 64n) magnitude = magnitude * BigInt(base) + BigInt(parseInt(name[pos]!, base));
    pos++;
    used++;
    digits++;
  }
  if (digits === 0) return null;
  const bound = 1n << 63n;
  let value: bigint;
  if (conv === 'u') {
    // strtoul: out of range saturates at ULONG_MAX; a minus sign negates modulo 2^64.
    const unsigned = magnitude >= 1n << 64n ? (1n << 64n) - 1n : magnitude;
    value = negative ? BigInt.asUintN(64, -unsigned) : unsigned;
  } else {
    value = negative ? -magnitude : magnitude;
    if (value > bound - 1n) value = bound - 1n;
    if (value < -bound) value = -bound;
  }
  return { value: Number(BigInt.asIntN(32, value)), end: pos };
}

function isDigit(code: number, base: number): boolean {
  if (base === 8) return code >= 48 && code <= 55;
  if (code >= 48 && code <= 57) return true;
  if (base !== 16) return false;
  return (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

function formatOne(token: Extract<Token, { kind: 'conversion' }>, n: number): string {
  const value = token.conv === 'u' ? n >>> 0 : n;
  let digits = Math.abs(value).toString();
  if (token.precision !== null) digits = token.precision === 0 && value === 0 ? '' : digits.padStart(token.precision, '0');
  let sign = '';
  if (value < 0) sign = '-';
  else if (token.conv !== 'u' && token.flags.includes('+')) sign = '+';
  else if (token.conv !== 'u' && token.flags.includes(' ')) sign = ' ';
  const width = token.width ?? 0;
  const body = sign + digits;
  if (body.length >= width) return body;
  if (token.flags.includes('-')) return body.padEnd(width, ' ');
  if (token.flags.includes('0') && token.precision === null) return sign + digits.padStart(width - sign.length, '0');
  return body.padStart(width, ' ');
}
