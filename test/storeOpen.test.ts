import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { LocalStore } from '../store/localStore.js';
import { DEFAULT_BUCKET, openStore } from '../store/openStore.js';
import { S3Store } from '../store/s3Store.js';

describe('openStore', () => {
  it('opens file:DIR as a local folder', async () => {
    const store = await openStore('file:./some/dir');
    expect(store).toBeInstanceOf(LocalStore);
    expect(store.name).toBe(`file:${resolve('some/dir')}`);
    expect(await openStore(DEFAULT_BUCKET)).toBeInstanceOf(LocalStore);
  });

  it('opens a plain bucket name as S3 with the given region and endpoint, path-style', async () => {
    const store = await openStore('my-frames.v2', { region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' });
    expect(store).toBeInstanceOf(S3Store);
    expect(store.name).toBe('my-frames.v2');
    expect((store as S3Store).config).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' });
    (store as S3Store).close();
  });

  it('refuses what is neither', async () => {
    await expect(openStore('file:')).rejects.toThrow(ConfigError);
    for (const spec of ['', 'ab', 'My_Bucket', './dir', 's3://bucket', 'a..b', '-bucket', 'x'.repeat(64)]) {
      await expect(openStore(spec), spec).rejects.toThrow(ConfigError);
    }
  });

  it('refuses bad S3 options with a ConfigError before any request', async () => {
    await expect(openStore('frames', { endpoint: 'ftp://x' })).rejects.toThrow(ConfigError);
  });
});
