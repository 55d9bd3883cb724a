/**
 * Jobs end to end with local workers (real TLS, real worker processes, a local-folder store):
 * map over a folder of files, vpxenc on a short Y4M clip, the example job file from examples/,
 * and the coordinator's own checks (outputs must exist; a chunk ended by -m keeps its state).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { commandList } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { defineJob } from '../jobs/defineJob.js';
import { loadJobFile } from '../jobs/loadJobFile.js';
import { map } from '../jobs/map.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { VPXENC_COMMAND, vpxenc } from '../jobs/vpxenc.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import { LocalStore } from '../store/localStore.js';
import { seedClip } from '../cli/demo.js';
import { expectRejection } from './support/expectRejection.js';
import { useTempDirs } from './support/tempDirs.js';

const HAS_VPXENC = spawnSync('sh', ['-c', 'command -v vpxenc && command -v vpxdec'], { encoding: 'utf8' }).status === 0;
if (!HAS_VPXENC) process.stderr.write("vpxenc tests skipped: vpxenc/vpxdec not on PATH (Debian's vpx-tools; .ci/run installs it)\n");

const tempDir = useTempDirs();
let dir: string;
let store: LocalStore;
beforeEach(async () => {
  dir = await tempDir('xc-jobs-e2e-');
  store = new LocalStore(join(dir, 'store'));
});

const quiet = () => ({ bucket: store.name, port: 0, quiet: true });

describe('map', () => {
  it('runs a shell command on every file under the prefix, K per worker, results under --out', async () => {
    for (const name of ['a.txt', 'b.txt', 'c.txt', 'skip.md']) await store.put(`texts/${name}`, Buffer.from(`hello ${name}\n`));
    const summary = await runJob(map, { ...quiet(), in: 'texts', match: '*.txt', out: 'upper', outName: '{stem}.up', cmd: 'tr a-z A-Z < ##INFILE## > ##OUTFILE##', perWorker: 2 });
    expect(summary.ok, JSON.stringify(summary.chunks)).toBe(true);
    expect(summary.chunks.map((c) => c.outputs)).toEqual([['upper/a.up', 'upper/b.up'], ['upper/c.up']]);
    for (const name of ['a', 'b', 'c']) expect(await readFile(store.pathOf(`upper/${name}.up`), 'utf8')).toBe(`HELLO ${name.toUpperCase()}.TXT\n`);
    expect(await store.exists('upper/skip.up')).toBe(false);
  });

  it('says so and launches nothing when no key is found', async () => {
    const run = runJob(map, { ...quiet(), in: 'nothing', out: 'x', cmd: 'true' });
    await expectRejection(run, ConfigError, `no key found under nothing/ in ${store.name}: nothing to run`);
  });

  it('needs --in, --out and --cmd', async () => {
    await expect(runJob(map, { ...quiet(), out: 'x', cmd: 'true' })).rejects.toThrow(/map needs --in: --in PREFIX/);
  });
});

/** A short 4:2:0 clip as Y4M: `frames` frames of 64x48 with moving content. */
function y4m(frames: number, seed: number): Buffer {
  const w = 64;
  const h = 48;
  const parts = [Buffer.from(`YUV4MPEG2 W${w} H${h} F25:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < frames; f++) {
    const frame = Buffer.alloc((w * h * 3) / 2);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 7 + f * 13 + seed * 31 + ((i / w) | 0) * 3) & 0xff;
    parts.push(Buffer.from('FRAME\n'), frame);
  }
  return Buffer.concat(parts);
}

describe.skipIf(!HAS_VPXENC)('vpxenc', () => {
  it('encodes each Y4M chunk to an IVF that decodes to its frames and equals vpxenc run directly', async () => {
    for (let chunk = 0; chunk < 2; chunk++) await store.put(`clip-y4m_03/0000000${chunk}.y4m`, y4m(3, chunk));
    const summary = await runJob(vpxenc, { ...quiet(), parts: 2, video: 'clip', inFormat: 'y4m_03', quality: 40 });
    expect(summary.ok, JSON.stringify(summary.chunks)).toBe(true);
    expect(summary.chunks.map((c) => c.outputs)).toEqual([['clip-vpxenc_q40/00000000.ivf'], ['clip-vpxenc_q40/00000001.ivf']]);
    for (let chunk = 0; chunk < 2; chunk++) {
      const ivf = store.pathOf(`clip-vpxenc_q40/0000000${chunk}.ivf`);
      const decoded = join(dir, `${chunk}.yuv`);
      execFileSync('vpxdec', ['--i420', '-o', decoded, ivf]);
      expect((await stat(decoded)).size).toBe(3 * 64 * 48 * 1.5);
      const input = join(dir, `${chunk}.y4m`);
      const direct = join(dir, `${chunk}.ivf`);
      await writeFile(input, y4m(3, chunk));
      const command = VPXENC_COMMAND.replace('##QUALITY##', '40').replace('##OUTFILE##', direct).replace('##INFILE##', input);
      execFileSync('sh', ['-c', command]);
      expect((await readFile(ivf)).equals(await readFile(direct))).toBe(true);
    }
  });
});

describe('the example job file (examples/stitch.ts)', () => {
  it('loads from outside the package\'s job folder and joins pairs of png2y4m chunks', async () => {
    await seedClip(store, 'clip', 4, { width: 32, height: 24 });
    expect((await runJob(png2y4m, { ...quiet(), parts: 4, frames: 1, video: 'clip' })).ok).toBe(true);
    const stitch = await loadJobFile(join(__dirname, '..', 'examples', 'stitch.ts'));
    expect(stitch.name).toBe('stitch');
    const summary = await runJob(stitch, { ...quiet(), parts: 2, video: 'clip', inFormat: 'y4m_01' });
    expect(summary.ok, JSON.stringify(summary.chunks)).toBe(true);
    const [a, b, out] = await Promise.all(['clip-y4m_01/00000000.y4m', 'clip-y4m_01/00000001.y4m', 'clip-stitched/00000000.y4m'].map((k) => readFile(store.pathOf(k))));
    const header = b!.indexOf(0x0a) + 1;
    expect(out!.equals(Buffer.concat([a!, b!.subarray(header)]))).toBe(true);
  });
});

describe('the coordinator believes the store, not the worker', () => {
  // Regression (issue 9): an OK:UPLOAD was believed; a chunk whose output never existed was reported done.
  it('fails a chunk whose outputs are not in the store, naming the key', async () => {
    const liar = defineJob({
      name: 'liar',
      description: 'says it is done without writing anything',
      options: {},
      plan: () => ({ chunks: [{ input: {}, inputs: [], outputs: ['never/written.txt'] }] }),
      machine: createConnectionMachine({ id: 'liar', vars: () => ({}), blocks: [commandList('talk', ['echo:uploaded, honest'])] }),
    });
    const summary = await runJob(liar, quiet());
    expect(summary.ok).toBe(false);
    expect(summary.chunks[0]).toMatchObject({ status: 'failed', outputs: ['never/written.txt'] });
    // Every attempt (the first and its two retries) was told the same: the store is believed.
    expect(summary.chunks[0]!.attempts.map((a) => [a.outcome, a.reason])).toEqual(
      Array.from({ length: 3 }, () => ['failed', `the worker reported success but output never/written.txt is not in ${store.name}`]),
    );
  });

  // Regression (issue 9): a chunk ended by -m lost its last state in the report.
  it('keeps the last state of a chunk ended by -m', async () => {
    const slow = defineJob({
      name: 'slow',
      description: 'runs longer than the kill timeout',
      options: {},
      plan: () => ({ chunks: [{ input: {}, inputs: [], outputs: [] }] }),
      machine: createConnectionMachine({ id: 'slow', vars: () => ({}), blocks: [commandList('work', [{ send: 'run:sleep 20', expect: 'OK:RETVAL(0)' }])] }),
    });
    // The connection the kill timeout closes ends after the job: nothing is sent to the finished supervisor.
    const warn = vi.spyOn(console, 'warn');
    let summary;
    try {
      summary = await runJob(slow, { ...quiet(), killAfterS: 1.5 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(warn.mock.calls.flat().join('\n')).not.toContain('stopped actor');
    } finally {
      warn.mockRestore();
    }
    expect(summary.chunks[0]).toMatchObject({ status: 'failed', state: 'work.run' });
    expect(summary.chunks[0]!.reason).toMatch(/killed: still running after 1500 ms/);
  });
});
