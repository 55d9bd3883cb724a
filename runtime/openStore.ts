/**
 * Compile a `-b` value into a store: `file:DIR` is a local folder; a plain bucket name is S3.
 *
 * @example openStore('file:./xc-store') // LocalStore rooted at ./xc-store
 * @example openStore('my-frames', { region: 'eu-west-1' }) // S3Store for bucket my-frames
 */
import { ConfigError } from './errors.js';
import { LocalStore } from './localStore.js';
import { S3Store, type S3StoreOptions } from './s3Store.js';
import type { ObjectStore } from './store.js';

/**
 * Options for S3 buckets (ignored for `file:` stores): `region` (default: the SDK's standard
 * configuration), `endpoint` (default: `AWS_ENDPOINT_URL_S3`; implies path-style addressing), and
 * the transfer settings of {@link S3StoreOptions}.
 */
export type StoreOptions = S3StoreOptions;

export const DEFAULT_BUCKET = 'file:./xc-store';

/** Bucket names as S3 (and the S3-compatible services we know) accept them. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function openStore(spec: string, options: StoreOptions = {}): ObjectStore {
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new ConfigError('bucket "file:" needs a folder, e.g. file:./xc-store');
    return new LocalStore(dir);
  }
  if (!BUCKET_NAME.test(spec) || spec.includes('..')) {
    throw new ConfigError(
      `-b ${JSON.stringify(spec)} is neither file:DIR nor an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')`,
    );
  }
  return new S3Store(spec, options);
}
