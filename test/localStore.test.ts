import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../common/errors.js';
import { LocalStore, STALE_PARTIAL_MS } from '../store/localStore.js';
import { openStore } from '../store/openStore.js';
import { packageRoot } from '../common/packagePaths.js';
import { expectRejection } from './support/expectRejection.js';
import { useTempDirs } from './support/tempDirs.js';
import { UNPRIVILEGED, UNPRIVILEGED_UNAVAILABLE } from './support/unprivileged.js';
import { WAIT } from './support/wait.js';

const tempDir = useTempDirs();
let root: string;
let work: string;

beforeEach(async () => {
  root = await tempDir('xc-local-root-');
  work = await tempDir('xc-local-work-');
});

// A test may leave the store's root unreadable; removal needs it back (runs before useTempDirs' cleanup, hooks unwind in reverse).
afterEach(async () => {
  await chmod(root, 0o700).catch(() => undefined);
});

async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await expectRejection(promise, StoreError);
  expect(error.message).not.toMatch(/\n/);
  return error;
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys;
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('LocalStore', () => {
  it('names itself file:ABSOLUTE-DIR', () => {
    expect(new LocalStore(root).name).toBe(`file:${root}`);
  });

  it('round-trips put, upload and download byte for byte, creating key folders', async () => {
    const store = new LocalStore(root);
    const body = randomBytes(3 * 1024 * 1024);
    await writeFile(join(work, 'in.bin'), body);
    await store.upload('deep/er/in.bin', join(work, 'in.bin'));
    await store.put('small.txt', Buffer.from('hello'));
    await store.download('deep/er/in.bin', join(work, 'out.bin'));
    await store.download('small.txt', join(work, 'small.txt'));
    expect(sha(await readFile(join(work, 'out.bin')))).toBe(sha(body));
    expect(await readFile(join(work, 'small.txt'), 'utf8')).toBe('hello');
    expect(sha(await readFile(join(root, 'deep', 'er', 'in.bin')))).toBe(sha(body));
  });

  it('replaces existing objects and files', async () => {
    const store = new LocalStore(root);
    await store.put('k', Buffer.from('one'));
    await store.put('k', Buffer.from('two'));
    await writeFile(join(work, 'k'), 'stale');
    await store.download('k', join(work, 'k'));
    expect(await readFile(join(work, 'k'), 'utf8')).toBe('two');
  });

  it('lists keys under a prefix in byte order, with / separators, skipping files being written', async () => {
    const store = new LocalStore(root);
    for (const key of ['b/2', 'b/10', 'a', 'B/x', 'b/1/z', 'bz', 'é']) await store.put(key, Buffer.from(key));
    await writeFile(join(root, 'b', '2.xc-partial-0123456789ab'), 'half');
    expect(await collect(store.list(''))).toEqual(['B/x', 'a', 'b/1/z', 'b/10', 'b/2', 'bz', 'é']);
    expect(await collect(store.list('b/'))).toEqual(['b/1/z', 'b/10', 'b/2']);
    expect(await collect(store.list('b/1'))).toEqual(['b/1/z', 'b/10']);
    expect(await collect(store.list('nothing'))).toEqual([]);
  });

  it('lists nothing when the folder does not exist yet', async () => {
    expect(await collect(new LocalStore(join(root, 'not-yet')).list(''))).toEqual([]);
  });

  it('tells whether a key exists (files only)', async () => {
    const store = new LocalStore(root);
    await store.put('d/f', Buffer.from('x'));
    expect(await store.exists('d/f')).toBe(true);
    expect(await store.exists('d')).toBe(false);
    expect(await store.exists('nope')).toBe(false);
    expect(await store.exists('../escape')).toBe(false);
  });

  it('reports a missing key naming store, key and file, and leaves no partial file', async () => {
    const store = new LocalStore(root);
    const file = join(work, 'never');
    // Repeated: the temp file must not survive a read failure racing with its creation.
    for (let i = 0; i < 20; i++) {
      const error = await failure(store.download('missing/key', file));
      expect(error.code).toBe('NoSuchKey');
      expect(error.message).toBe(`NoSuchKey: file:${root}/missing/key -> ${file}`);
    }
    expect(await readdir(work)).toEqual([]);
  });

  it('refuses keys that would leave the folder', async () => {
    const store = new LocalStore(root);
    for (const key of ['../x', '/etc/passwd', 'a/../../x', '', 'nul\0byte', '.']) {
      expect((await failure(store.put(key, Buffer.from('x')))).code).toBe('InvalidKey');
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('works when the folder is the file-system root', () => {
    expect(new LocalStore('/').pathOf('tmp/x')).toBe('/tmp/x');
    expect(() => new LocalStore('/').pathOf('/')).toThrow(StoreError);
  });

  it('names the local file when it is missing or its folder is', async () => {
    const store = new LocalStore(root);
    const up = await failure(store.upload('k', join(work, 'absent')));
    expect(up.code).toBe('LocalFile');
    expect(up.message).toContain(join(work, 'absent'));
    await store.put('k', Buffer.from('x'));
    const down = await failure(store.download('k', join(work, 'no-dir', 'k')));
    expect(down.code).toBe('LocalFile');
    expect(down.message).toContain(join(work, 'no-dir', 'k'));
    expect(await readdir(work)).toEqual([]);
    expect(await collect(store.list(''))).toEqual(['k']);
  });

  it('reports a folder it may not write to as AccessDenied', async ({ skip }) => {
    skip(UNPRIVILEGED === undefined, UNPRIVILEGED_UNAVAILABLE);
    // Traversable, not writable, for the unprivileged process that runs the store (dist/, as built).
    await chmod(root, 0o555);
    const script = `
      const { LocalStore } = await import(${JSON.stringify(pathToFileURL(join(packageRoot(), 'dist', 'store', 'localStore.js')).href)});
      const outcome = await new LocalStore(process.argv[1]).put('k', Buffer.from('x')).then(() => ({ stored: true }), (e) => ({ name: e.name, code: e.code, message: e.message }));
      process.stdout.write(JSON.stringify(outcome));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, root], { ...UNPRIVILEGED, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    const outcome = JSON.parse(child.stdout) as { name?: string; code?: string; message?: string };
    expect(outcome).toMatchObject({ name: 'StoreError', code: 'AccessDenied' });
    expect(outcome.message).not.toMatch(/\n/);
    expect(await readdir(root)).toEqual([]);
  });

  it('does not mistake a folder for an object', async () => {
    const store = new LocalStore(root);
    await mkdir(join(root, 'dir'));
    expect((await failure(store.download('dir', join(work, 'x')))).code).toBe('LocalFile');
    expect(await readdir(work)).toEqual([]);
  });
});

/** A named pipe at `path` with a writer that sent `first` and stays open: a transfer from it hangs mid-way. */
async function stalledPipe(path: string, first: string) {
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  const writer = open(path, 'w');
  return {
    /** Resolves once a reader opened the pipe and the first bytes are written. */
    started: writer.then((handle) => handle.write(first)),
    close: async () => (await writer).close(),
  };
}

const partialsIn = async (dir: string): Promise<string[]> => (await readdir(dir, { recursive: true })).filter((name) => name.includes('.xc-partial-'));

describe('LocalStore: issue 9, transfers that outlive their worker and partial objects left forever', () => {
  it('stops an aborted upload at once and leaves no partial object', async () => {
    const store = new LocalStore(root);
    const pipe = await stalledPipe(join(work, 'pipe'), 'first bytes');
    const abort = new AbortController();
    try {
      const upload = store.upload('out/k', join(work, 'pipe'), { signal: abort.signal });
      await pipe.started;
      await vi.waitFor(async () => expect(await partialsIn(root)).toHaveLength(1), WAIT);
      abort.abort();
      expect((await failure(upload)).message).toMatch(/^file:.*\/out\/k <- .*pipe: .*abort/i);
      expect(await partialsIn(root)).toEqual([]);
      expect(existsSync(join(root, 'out/k'))).toBe(false);
    } finally {
      await pipe.close();
    }
  });

  it('stops an aborted download at once and leaves no partial file', async () => {
    const store = new LocalStore(root);
    const pipe = await stalledPipe(join(root, 'k'), 'first bytes');
    const abort = new AbortController();
    try {
      const download = store.download('k', join(work, 'k'), { signal: abort.signal });
      await pipe.started;
      await vi.waitFor(async () => expect(await partialsIn(work)).toHaveLength(1), WAIT);
      abort.abort();
      await failure(download);
      expect(await readdir(work)).toEqual([]);
    } finally {
      await pipe.close();
    }
  });

  it('removes partial objects untouched for the bound, not fresh ones or objects, also when opened', async () => {
    const store = new LocalStore(root);
    await store.put('out/00000001.y4m', Buffer.from('done'));
    const stale = [join(root, 'out/00000002.y4m.xc-partial-0123456789ab'), join(root, 'deep/er/x.xc-partial-ba9876543210')];
    const fresh = join(root, 'out/00000003.y4m.xc-partial-00112233aabb');
    await mkdir(join(root, 'deep/er'), { recursive: true });
    const old = (Date.now() - STALE_PARTIAL_MS - 60_000) / 1000;
    for (const file of [...stale, fresh]) await writeFile(file, 'half');
    for (const file of stale) await utimes(file, old, old);
    expect(await store.removeStalePartials()).toBe(2);
    expect(stale.filter((file) => existsSync(file))).toEqual([]);
    expect(existsSync(fresh)).toBe(true);
    expect(await collect(store.list(''))).toEqual(['out/00000001.y4m']);

    // The next run over the store (openStore) sweeps it too.
    await writeFile(stale[0]!, 'half');
    await utimes(stale[0]!, old, old);
    await openStore(`file:${root}`);
    await vi.waitFor(() => expect(existsSync(stale[0]!)).toBe(false), WAIT);
    expect(existsSync(fresh)).toBe(true);
  });
});

describe('LocalStore: issue 9, a symlink inside the store let an upload write outside it', () => {
  it('never writes, reads or finds through a symlink leading out of the store', async () => {
    const store = new LocalStore(root);
    await writeFile(join(work, 'secret'), 'outside');
    await writeFile(join(work, 'in.bin'), 'payload');
    await symlink(work, join(root, 'out'));
    await symlink(join(work, 'secret'), join(root, 'secret-link'));
    const attempts = [
      () => store.upload('out/x', join(work, 'in.bin')),
      () => store.put('out/sub/y', Buffer.from('x')),
      () => store.download('out/secret', join(work, 'copy')),
      () => store.download('secret-link', join(work, 'copy')),
    ];
    for (const attempt of attempts) {
      const error = await failure(attempt());
      expect(error.code).toBe('InvalidKey');
      expect(error.message).toMatch(/leads out of file:.* through a symlink/);
    }
    expect((await readdir(work)).sort()).toEqual(['in.bin', 'secret']);
    expect(await store.exists('out/secret')).toBe(false);
    expect(await store.exists('secret-link')).toBe(false);
  });

  it('follows symlinks that stay inside the store, and a store folder that is itself a link', async () => {
    await mkdir(join(root, 'real'));
    await symlink(join(root, 'real'), join(root, 'alias'));
    const linkedRoot = join(work, 'store-link');
    await symlink(root, linkedRoot);
    const store = new LocalStore(linkedRoot);
    await store.put('alias/k', Buffer.from('inside'));
    expect(await readFile(join(root, 'real/k'), 'utf8')).toBe('inside');
    await store.download('alias/k', join(work, 'k'));
    expect(await readFile(join(work, 'k'), 'utf8')).toBe('inside');
    expect(await store.exists('alias/k')).toBe(true);
  });
});
