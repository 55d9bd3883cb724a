/**
 * How the worker reads its variables ("vals"): integers as `seti:` parses them, flags as on or
 * off, and the bucket, key and file of a transfer. Said once, for the command interpreter and for
 * the swarm's simulated clients (bench/swarmClients.ts), which must answer as the real worker does.
 */
import { hashKey } from '../store/hashKey.js';
import { substituteTmpDir } from './template.js';

/** A worker variable: text from `set:`, a number from `seti:`. */
export type Val = string | number;

/** Python's int() on a decimal string (surrounding blanks and a sign allowed), within safe range. */
export function parseInteger(text: string): number | undefined {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) return undefined;
  const value = Number(text.trim());
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * mu treated any set value as true, so `set:nonblock:0` meant "on". We read `0`, `''` and
 * unset as off, whether the value came from `set:` or `seti:`.
 */
export function isOn(value: Val | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === 'number') return value !== 0;
  const text = value.trim();
  return text !== '' && text !== '0';
}

export interface TransferParams {
  bucket: string;
  /** The key as used in the store (hashed if `hash_s3keys`). */
  key: string;
  /** The file name as given, after `##TMPDIR##` (used in answers). */
  file: string;
}

/**
 * Bucket, key and file of a `retrieve:`/`upload:` (inline `KEY\0FILE`, else the vals `keyVar` and
 * `fileVar`); a string says what is missing.
 */
export function transferParams(arg: string, vals: ReadonlyMap<string, Val>, tmpDir: string, keyVar: string, fileVar: string): TransferParams | string {
  const bucket = vals.get('bucket');
  if (bucket === undefined || String(bucket) === '') return 'no variable bucket';
  let key: string;
  let file: string;
  if (arg !== '') {
    const nul = arg.indexOf('\0');
    if (nul < 0) return 'the inline form is KEY\\0FILE (key and file separated by a NUL byte)';
    key = arg.slice(0, nul);
    file = arg.slice(nul + 1);
  } else {
    const missing = [keyVar, fileVar].filter((name) => vals.get(name) === undefined);
    if (missing.length > 0) return `no variable ${missing.join(' or ')}`;
    key = String(vals.get(keyVar));
    file = String(vals.get(fileVar));
  }
  if (key === '') return 'empty key';
  if (file === '') return 'empty file name';
  return { bucket: String(bucket), key: isOn(vals.get('hash_s3keys')) ? hashKey(key) : key, file: substituteTmpDir(file, tmpDir) };
}
