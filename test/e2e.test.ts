/**
 * The png2y4m job end to end on this machine: a real coordinator, real TLS, real worker processes
 * (`xc-orch worker`), the real png2y4m, a local-folder store. Needs dist/ (npm test builds it).
 */
import { createServer, type AddressInfo } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { seedClip, verifyChunks } from '../cli/demo.js';
import { ConfigError } from '../common/errors.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { LocalStore } from '../store/localStore.js';
import { runJob, type JobRunOptions } from '../runtime/coordinator/runJob.js';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { hashKey } from '../store/hashKey.js';
import { expectRejection } from './support/expectRejection.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';

const tempDir = useTempDirs();
let dir: string;
let store: LocalStore;

beforeEach(async () => {
  dir = await tempDir('xc-e2e-');
  store = new LocalStore(join(dir, 'store'));
});

const seedSmallClip = (frames: number) => seedClip(store, 'clip', frames, { width: 64, height: 48 });

type Options = JobRunOptions<typeof png2y4m>;

function options(extra: Options = {}) {
  return { parts: 3, frames: 2, video: 'clip', bucket: store.name, port: 0, quiet: true, ...extra };
}

const executeJob = (o: Options) => runJob(png2y4m, o);

describe('png2y4m job with local workers', () => {
  it('converts 3 chunks, each byte-identical to png2y4m run directly on its frames', async () => {
    await seedSmallClip(6);
    const times = join(dir, 'times.jsonl');
    const given = options({ timesFile: times });
    const summary = await executeJob(given);
    expect(summary.ok).toBe(true);
    expect(summary.chunks.map((c) => [c.chunk, c.status, c.outputs])).toEqual([
      [0, 'done', ['clip-y4m_02/00000000.y4m']],
      [1, 'done', ['clip-y4m_02/00000001.y4m']],
      [2, 'done', ['clip-y4m_02/00000002.y4m']],
    ]);
    expect(await verifyChunks(store, given)).toEqual([]);
    // Inputs in the store are untouched (workers delete only their own copies).
    expect(await store.exists('clip-png16/00000001.png')).toBe(true);
    const lines = (await readFile(times, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.filter((l) => l.state === 'done').map((l) => l.chunk).sort()).toEqual([0, 1, 2]);
    expect(new Set(lines.map((l) => l.state)).size).toBeGreaterThan(4);
  });

  it('runs with the certificates xc-orch genkeys wrote (-c/-s/-k), workers using the pair beside them', async () => {
    await seedSmallClip(2);
    const keys = join(dir, 'keys');
    expect((await runCli(['genkeys', keys])).code).toBe(0);
    const summary = await executeJob(
      options({ parts: 1, caCert: join(keys, 'ca_cert.pem'), serverCert: join(keys, 'server_cert.pem'), serverKey: join(keys, 'server_key.pem') }),
    );
    expect(summary.ok).toBe(true);
  });

  it('honours the chunk offset', async () => {
    await seedSmallClip(6);
    const summary = await executeJob(options({ parts: 1, offset: 2 }));
    expect(summary.ok).toBe(true);
    expect(summary.chunks.map((c) => c.outputs)).toEqual([['clip-y4m_02/00000002.y4m']]);
  });

  it('refuses to start when input frames are missing, naming them', async () => {
    await seedSmallClip(4);
    const run = executeJob(options());
    await expectRejection(run, ConfigError, /2 input frame\(s\) missing .*clip-png16\/00000005\.png, clip-png16\/00000006\.png/);
  });

  it('says how to choose another port when -t is taken', async () => {
    await seedSmallClip(6);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = executeJob(options({ port }));
      await expectRejection(run, ConfigError, `port ${port} is already in use`);
    } finally {
      taken.close();
    }
  });

  it('fails only the chunk whose frame is corrupt and says why', async () => {
    await seedSmallClip(6);
    await store.put('clip-png16/00000003.png', Buffer.from('this is not a png'));
    const summary = await executeJob(options());
    expect(summary.ok).toBe(false);
    const [c0, c1, c2] = summary.chunks;
    expect(c0!.status).toBe('done');
    expect(c2!.status).toBe('done');
    expect(c1!.status).toBe('failed');
    expect(c1!.reason).toMatch(/RETVAL\(1\)/);
    expect(c1!.reason).toMatch(/Not a PNG/);
    expect(await store.exists('clip-y4m_02/00000001.y4m')).toBe(false);
  });

  it('with --launcher none, waits for workers started by hand from the payload file', async () => {
    await seedSmallClip(4);
    const payload = join(dir, 'payload.json');
    const given = options({ parts: 2, launcher: 'none', payloadOut: payload });
    const job = executeJob(given);
    // The payload appears once the coordinator listens; it holds the worker key, so it is private.
    await vi.waitFor(() => stat(payload), WAIT);
    expect((await stat(payload)).mode & 0o777).toBe(0o600);
    const workers = [0, 1].map(() => runCli(['worker', '--event', payload]));
    const summary = await job;
    await Promise.all(workers);
    expect(summary.ok).toBe(true);
    expect(await verifyChunks(store, given)).toEqual([]);
  });
});

describe('hashed key names (-M)', () => {
  it('workers read and write hashed keys, and missing inputs are named as stored', async () => {
    await seedClip(store, 'clip', 3, { hashKeys: true, width: 40, height: 30 });
    const missing = executeJob(options({ parts: 2, hashKeys: true }));
    await expect(missing).rejects.toThrow(`1 input frame(s) missing in ${store.name}: ${hashKey('clip-png16/00000004.png')}`);

    await store.put(hashKey('clip-png16/00000004.png'), syntheticFrame(3, 40, 30));
    const given = options({ parts: 2, hashKeys: true });
    const summary = await executeJob(given);
    expect(summary.ok).toBe(true);
    expect(summary.chunks.map((c) => c.outputs)).toEqual([[hashKey('clip-y4m_02/00000000.y4m')], [hashKey('clip-y4m_02/00000001.y4m')]]);
    expect(await store.exists(hashKey('clip-y4m_02/00000001.y4m'))).toBe(true);
    expect(await store.exists('clip-y4m_02/00000001.y4m')).toBe(false);
    expect(await verifyChunks(store, given)).toEqual([]);
  });
});

describe('demo helpers', () => {
  it('seeds the synthetic clip once and leaves existing frames alone', async () => {
    await store.put('v-png16/00000001.png', Buffer.from('keep'));
    await seedClip(store, 'v', 2);
    expect(await readFile(store.pathOf('v-png16/00000001.png'), 'utf8')).toBe('keep');
    expect((await readFile(store.pathOf('v-png16/00000002.png'))).subarray(1, 4).toString()).toBe('PNG');
  });
});
