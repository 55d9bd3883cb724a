/**
 * Compile a `-b` value into a store: `file:DIR` is a local folder; a plain bucket name is S3.
 *
 * @example await openStore('file:./xc-store') // LocalStore rooted at ./xc-store
 * @example await openStore('my-frames', { region: 'eu-west-1' }) // S3Store for bucket my-frames
 */
import { ConfigError } from '../common/errors.js';
import { LocalStore } from './localStore.js';
import type { S3StoreOptions } from './s3Store.js';
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

/**
 * Async because the AWS SDK is loaded only when a bucket is actually S3: a worker on a local
 * folder (and every `png2y4m` frame it runs) starts without paying for it.
 */
export async function openStore(spec: string, options: StoreOptions = {}): Promise<ObjectStore> {
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new ConfigError('bucket "file:" needs a folder, e.g. file:./xc-store');
    const store = new LocalStore(dir);
    sweepOnce(store);
    return store;
  }
  if (!BUCKET_NAME.test(spec) || spec.includes('..')) {
    throw new ConfigError(
      `-b ${JSON.stringify(spec)} is neither file:DIR nor an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')`,
    );
  }
  const { S3Store } = await import('./s3Store.js');
  return new S3Store(spec, options);
}

const swept = new Set<string>();

/**
 * Remove what killed writers left in a local store (see LocalStore.removeStalePartials), once per
 * folder and process, in the background: opening stays instant, and a store that cannot be
 * walked fails later on the command that uses it, with its own message.
 */
function sweepOnce(store: LocalStore): void {
  if (swept.has(store.root)) return;
  swept.add(store.root);
  store.removeStalePartials().catch(() => undefined);
}
