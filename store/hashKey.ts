/**
 * mu's `hash_s3keys` key naming: spread objects over S3 partitions by putting a short hash at the
 * very front of the key. S3 splits its index by leading key characters, so the hash must come
 * before any folder: `sintel-1k-png16/00000001.png` becomes `a1b2-sintel-1k-png16/00000001.png`.
 * The hash is taken of the last path part only (as mu did), so it is the same whichever folder
 * the object sits in; whoever seeds the bucket (`-M`) must name objects the same way.
 */
import { createHash } from 'node:crypto';

/**
 * The hashed form of `key`: the first 4 hex digits of the MD5 of its last `/`-separated part,
 * a dash, then the whole key unchanged.
 *
 * @example hashKey('sintel-1k-png16/00000001.png') // '<4 hex digits>-sintel-1k-png16/00000001.png'
 */
export function hashKey(key: string): string {
  const lastPart = key.slice(key.lastIndexOf('/') + 1);
  const digest = createHash('md5').update(lastPart, 'utf8').digest('hex');
  return `${digest.slice(0, 4)}-${key}`;
}
