/**
 * A worker's info record (its `INFO:K:V` answers) as a small persistent map: an update copies one
 * of 32 buckets and the list of buckets, never the whole record, so it costs O(1) however many keys
 * the worker has sent (copying the record made 20,000 keys take 80 s), and every earlier snapshot
 * keeps its own view, as machine contexts must. Bounded per worker by {@link INFO_LIMITS}.
 */

/** What one worker's info may hold; an `INFO:` answer beyond it fails the connection. */
export const INFO_LIMITS = { keys: 256, chars: 64 * 1024 } as const;

const BUCKETS = 32;

type Entry = readonly [key: string, value: string];

export interface InfoRecord {
  readonly keys: number;
  /** Characters of every key and value held. */
  readonly chars: number;
  /** By key hash; each a short list of `[key, value]`. */
  readonly buckets: readonly (readonly Entry[])[];
}

export const EMPTY_INFO: InfoRecord = { keys: 0, chars: 0, buckets: Array.from({ length: BUCKETS }, () => []) };

/** FNV-1a over UTF-16 code units, reduced to a bucket. */
function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % BUCKETS;
}

/** @example infoValue(withInfo(EMPTY_INFO, 'fps', '24'), 'fps') // '24' */
export function infoValue(record: InfoRecord, key: string): string | undefined {
  for (const [k, v] of record.buckets[bucketOf(key)]!) if (k === key) return v;
  return undefined;
}

/** The record after `key` is set to `value`; `record` itself is unchanged. */
export function withInfo(record: InfoRecord, key: string, value: string): InfoRecord {
  const index = bucketOf(key);
  const bucket = record.buckets[index]!;
  const at = bucket.findIndex(([k]) => k === key);
  const old = at < 0 ? undefined : bucket[at]![1];
  const entry: Entry = [key, value];
  const updated = at < 0 ? [...bucket, entry] : bucket.map((e, i) => (i === at ? entry : e));
  const buckets = record.buckets.slice();
  buckets[index] = updated;
  return {
    keys: record.keys + (at < 0 ? 1 : 0),
    chars: record.chars + value.length - (old === undefined ? -key.length : old.length),
    buckets,
  };
}

/**
 * Why setting `key` to `value` would take the record past {@link INFO_LIMITS}, or undefined if it fits.
 *
 * @example infoOverflow(EMPTY_INFO, 'k', 'x'.repeat(70_000)) // 'more than 65536 characters of info'
 */
export function infoOverflow(record: InfoRecord, key: string, value: string): string | undefined {
  const old = infoValue(record, key);
  const keys = record.keys + (old === undefined ? 1 : 0);
  const chars = record.chars + value.length - (old === undefined ? -key.length : old.length);
  if (keys > INFO_LIMITS.keys) return `more than ${INFO_LIMITS.keys} info keys`;
  if (chars > INFO_LIMITS.chars) return `more than ${INFO_LIMITS.chars} characters of info`;
  return undefined;
}

/** The record as a plain object, for reports and tests. */
export function infoObject(record: InfoRecord): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const bucket of record.buckets) for (const [k, v] of bucket) out[k] = v;
  return out;
}
