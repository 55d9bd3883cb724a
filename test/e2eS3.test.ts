/**
 * The png2y4m job against a real S3-compatible server (fauxqs behind a SigV4-checking front, on
 * 127.0.0.1): coordinator, local worker processes and the CLI all go through @aws-sdk/client-s3.
 * The chunks must be byte-identical to the same job on a local folder.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { chunkKeys, png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import { LocalStore } from '../store/localStore.js';
import { S3Store } from '../store/s3Store.js';
import { seedClip } from '../cli/demo.js';
import { runCli } from './support/runCli.js';
import { startS3Server, type S3TestServer } from './support/s3Server.js';
import { useTempDirs } from './support/tempDirs.js';

const BUCKET = 'xc-e2e-frames';
let s3: S3TestServer;
const tempDir = useTempDirs('file');
let dir: string;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  dir = await tempDir('xc-e2e-s3-');
});
afterAll(async () => {
  await s3?.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

it('runs the job on S3 with 3 local workers, outputs identical to the local-folder run', async () => {
  // Workers inherit this environment: credentials reach them only through the SDK's standard chain.
  for (const [name, value] of Object.entries(s3.env())) vi.stubEnv(name, value);
  vi.stubEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');
  const local = new LocalStore(join(dir, 'local'));
  const remote = new S3Store(BUCKET, { region: s3.region, endpoint: s3.endpoint });
  // The clip is deterministic: both stores get the same bytes.
  await seedClip(local, 'clip', 6, { width: 48, height: 32 });
  await seedClip(remote, 'clip', 6, { width: 48, height: 32 });
  const common = { parts: 3, frames: 2, video: 'clip', port: 0, quiet: true } as const;
  const onS3 = await runJob(png2y4m, { ...common, bucket: BUCKET, s3Endpoint: s3.endpoint });
  expect(onS3.chunks.map((c) => c.reason ?? c.status)).toEqual(['done', 'done', 'done']);
  expect(onS3.store).toBe(BUCKET);
  const onDisk = await runJob(png2y4m, { ...common, bucket: local.name });
  expect(onDisk.ok).toBe(true);
  for (let chunk = 0; chunk < 3; chunk++) {
    const { outputKey } = chunkKeys({ chunk, frames: 2, video: 'clip', inFormat: 'png16' });
    const fetched = join(dir, `s3-${chunk}.y4m`);
    await remote.download(outputKey, fetched);
    const [fromS3, fromDisk] = await Promise.all([readFile(fetched), readFile(local.pathOf(outputKey))]);
    expect(fromS3.length).toBeGreaterThan(100);
    expect(fromS3.equals(fromDisk)).toBe(true);
  }
});

it('xc-orch demo -b BUCKET --s3-endpoint URL seeds the clip into S3, runs the job there and checks it', async () => {
  const env = { ...process.env, ...s3.env(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const { stdout, stderr, code } = await runCli(['demo', '-b', BUCKET, '--s3-endpoint', s3.endpoint, '-n', '2', '-f', '1', '-q'], { env, timeoutMs: 60_000 });
  expect(code, stderr).toBe(0);
  expect(stderr).toContain('checked: all 2 chunks are byte-identical to a direct png2y4m conversion');
  expect(stdout.trim().split('\n')).toEqual([`s3://${BUCKET}/sintel-1k-y4m_01/00000000.y4m`, `s3://${BUCKET}/sintel-1k-y4m_01/00000001.y4m`]);
  expect(stderr + stdout).not.toContain(s3.credentials.secretAccessKey);
});

it('names the missing keys when the bucket lacks input frames', async () => {
  for (const [name, value] of Object.entries(s3.env())) vi.stubEnv(name, value);
  const run = runJob(png2y4m, { parts: 1, frames: 2, video: 'absent', bucket: BUCKET, s3Endpoint: s3.endpoint, port: 0, quiet: true });
  await expect(run).rejects.toThrow(/2 input frame\(s\) missing in xc-e2e-frames: absent-png16\/00000001\.png, absent-png16\/00000002\.png/);
});
