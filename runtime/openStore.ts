/**
 * Compile a `-b` value into a store: `file:DIR` is a local folder; a plain bucket name is S3.
 *
 * @example openStore('file:./xc-store') // LocalStore rooted at ./xc-store
 */
import { ConfigError } from './errors.js';
import { LocalStore } from './localStore.js';
import type { ObjectStore } from './store.js';

export interface StoreOptions {
  /** AWS region for S3 buckets (default: the SDK's standard configuration). */
  region?: string;
  /** Endpoint of an S3-compatible service; implies path-style addressing. */
  endpoint?: string;
}

export const DEFAULT_BUCKET = 'file:./xc-store';

export function openStore(spec: string, _options: StoreOptions = {}): ObjectStore {
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new ConfigError('bucket "file:" needs a folder, e.g. file:./xc-store');
    return new LocalStore(dir);
  }
  throw new ConfigError(`S3 buckets are not supported yet (got -b ${spec}); use -b file:DIR`);
}
