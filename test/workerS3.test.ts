/**
 * A worker moving a large object through a real S3-compatible server: `retrieve:` streams 20 MiB
 * down into its temp dir, `run:` copies it, `upload:` streams it back up in multipart. The bytes
 * must come back unchanged; a broken download leaves no partial file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { S3Store } from '../store/s3Store.js';
import { runWorker } from '../worker/worker.js';
import { startS3Server, type S3TestServer } from './support/s3Server.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { workerEvent } from './support/workerEvent.js';

const BUCKET = 'xc-worker-big';
const SIZE = 20 * 1024 * 1024;
const tempDir = useTempDirs('file');
let s3: S3TestServer;
let creds: RunCredentials;
let root: string;
let coordinator: ScriptedCoordinator | undefined;

beforeAll(async () => {
  [s3, creds] = await Promise.all([startS3Server(), generateCredentials()]);
  await s3.createBucket(BUCKET);
  root = await tempDir('xc-worker-s3-');
});
afterAll(async () => {
  await s3?.stop();
});
beforeEach(() => {
  // The worker, like the test, gets credentials only through the SDK's standard chain.
  for (const [name, value] of Object.entries(s3.env())) vi.stubEnv(name, value);
});
afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
  vi.unstubAllEnvs();
});

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function startWorker(tmpRoot: string) {
  coordinator = await startScriptedCoordinator({ credentials: creds });
  const event = workerEvent(creds, coordinator.port, { id: 1, bucket: BUCKET, region: s3.region, s3endpoint: s3.endpoint, command: 'cp ##INFILE## ##OUTFILE##' });
  const exit = runWorker(event, { tmpRoot });
  const session = await coordinator.nextSession();
  expect(await session.next()).toBe('OK:HELLO:1');
  return { exit, session };
}

describe('worker with an S3 store', () => {
  it('round-trips a 20 MiB object: streamed retrieve, run, multipart upload', async () => {
    const source = join(root, 'big.bin');
    await writeFile(source, randomBytes(SIZE));
    const store = new S3Store(BUCKET, { region: s3.region, endpoint: s3.endpoint });
    await store.upload('in/big.bin', source);
    s3.takeRequests();

    const tmpRoot = join(root, 'tmp-ok');
    await mkdir(tmpRoot);
    const { exit, session } = await startWorker(tmpRoot);
    const answers = await session.play([
      { send: 'set:inkey:in/big.bin' },
      { send: 'set:targfile:##TMPDIR##/big.bin' },
      { send: 'retrieve:' },
      { send: 'set:cmdinfile:##TMPDIR##/big.bin' },
      { send: 'set:cmdoutfile:##TMPDIR##/copy.bin' },
      { send: 'run:', expect: 'OK:RETVAL(0)' },
      { send: 'set:fromfile:##TMPDIR##/copy.bin' },
      { send: 'set:outkey:out/copy.bin' },
      { send: 'upload:' },
      { send: 'quit:', expect: null },
    ]);
    expect(answers[2]).toBe(`OK:RETRIEVE(${BUCKET}/in/big.bin)`);
    expect(answers[8]).toBe(`OK:UPLOAD(${BUCKET}/out/copy.bin)`);
    expect((await exit).reason).toBe('quit');
    // (Memory is not asserted here: the in-process test server keeps objects in memory itself.)
    const parts = s3.takeRequests().filter((r) => r.method === 'PUT' && r.query.includes('partNumber'));
    expect(parts.length).toBeGreaterThan(1);

    const back = join(root, 'back.bin');
    await store.download('out/copy.bin', back);
    expect(await sha256(back)).toBe(await sha256(source));
  });

  it('fails retrieve: cleanly when the server drops the connection mid-download, leaving no partial file', async () => {
    const store = new S3Store(BUCKET, { region: s3.region, endpoint: s3.endpoint });
    await store.put('in/cut.bin', randomBytes(2 * 1024 * 1024));
    // Every attempt is cut, so the worker's retries cannot save it.
    s3.addFault({ method: 'GET', pathIncludes: 'in/cut.bin', count: 100, action: { cut: { afterBytes: 100_000 } } });
    const tmpRoot = join(root, 'tmp-cut');
    await mkdir(tmpRoot);
    const { exit, session } = await startWorker(tmpRoot);
    const answers = await session.play([
      { send: 'set:inkey:in/cut.bin' },
      { send: 'set:targfile:##TMPDIR##/cut.bin' },
      { send: 'retrieve:', expect: 'FAIL' },
    ]);
    expect(answers[2]).toMatch(/^FAIL\(.*in\/cut\.bin.*\)$/);
    expect(answers[2]).not.toContain('\n');
    const [workerDir] = (await readdir(tmpRoot)).filter((name) => name.startsWith('xc-worker-'));
    expect(await readdir(join(tmpRoot, workerDir!))).not.toContain('cut.bin');
    expect((await readdir(join(tmpRoot, workerDir!))).filter((name) => name.includes('cut.bin'))).toEqual([]);
    await session.play([{ send: 'quit:', expect: null }]);
    expect((await exit).reason).toBe('quit');
  });
});
