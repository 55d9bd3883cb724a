/**
 * `xc-orch run xcenc` (issue 10): the job's options and plan (offset against the group size,
 * keys naming quality and K, what the worker needs), the state wait carried in the payload to a
 * real worker, and end to end with local workers, the relay and real tools on a clip of 2 groups
 * (5 chunks, K = 3: places 0 1 2 | 0 1): outputs byte-identical to the rebase by hand, `--join`
 * decoding to every frame with key frames at the group heads only, and a missing state failing its
 * dependant, naming it, within the state wait.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { resolveOptions } from '../common/optionTable.js';
import { missingExcameraTools } from '../cli/demo.js';
import { runHelp } from '../cli/run.js';
import type { JobPlan } from '../jobs/defineJob.js';
import { jobs } from '../jobs/registry.js';
import { xcenc } from '../jobs/xcenc.js';
import { xcencMachine, type XcencChunkInput } from '../machines/xcenc.js';
import type { JobSummary } from '../runtime/coordinator/coordinator.js';
import { compileJobRun, planJob, runJob } from '../runtime/coordinator/runJob.js';
import { checkJoinedStream } from '../runtime/demo/checkJoinedStream.js';
import { generateCredentials } from '../runtime/tls/certs.js';
import { parseIvf, vp8KeyFrames } from '../runtime/video/ivf.js';
import { LocalStore } from '../store/localStore.js';
import { parseEvent } from '../worker/parseEvent.js';
import { runWorker } from '../worker/worker.js';
import { runCli } from './support/runCli.js';
import { runConnection } from './support/runConnection.js';
import { startScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { missingXcencTools, runTool, xcencByHand, xcencClip, XCENC_PATH } from './support/xcencByHand.js';
import { workerEvent } from './support/workerEvent.js';

const tempDir = useTempDirs();

const plan = (values: Record<string, unknown>) =>
  xcenc.plan(resolveOptions(xcenc.options, values), { storeName: 'file:x', list: () => { throw new Error('xcenc lists nothing'); } }) as JobPlan<XcencChunkInput>;

describe('xcenc: options and plan', () => {
  it('is a built-in job whose workers use the relay and run vpxenc, xc-enc and xc-dump', () => {
    expect(jobs.xcenc).toBe(xcenc);
    expect(xcenc.relay).toBe(true);
    expect(xcenc.worker?.executables).toEqual(['vpxenc', 'xc-enc', 'xc-dump']);
    const help = runHelp(xcenc);
    for (const flag of ['-K, --group-size', '-Y, --quality', '-u, --upload-intermediates', '--join FILE', '--state-wait', '-i, --in-format']) expect(help).toContain(flag);
  });

  it('by default puts all chunks in one group at quality 30, named in the output keys, one run name for all', () => {
    const { chunks, firstChunk } = plan({ parts: 4, video: 'v' });
    expect(firstChunk).toBe(0);
    expect(chunks.map((c) => [c.inputs, c.outputs])).toEqual(
      [0, 1, 2, 3].map((c) => [[`v-y4m_06/0000000${c}.y4m`], [`v/out_30_k4/0000000${c}.ivf`]]),
    );
    const inputs = chunks.map((c) => c.input);
    expect(inputs.map((i) => [i.chunk, i.lastChunk, i.groupSize, i.quality])).toEqual([[0, 3, 4, 30], [1, 3, 4, 30], [2, 3, 4, 30], [3, 3, 4, 30]]);
    expect(inputs[0]!.runId).toMatch(/^xcenc-[0-9a-f]{8}$/);
    expect(new Set(inputs.map((i) => i.runId)).size).toBe(1);
  });

  it('-K, -Y, -i and -o name the keys; -u adds pass 0\'s output and the final state to the outputs', () => {
    const { chunks, firstChunk } = plan({ parts: 2, offset: 32, groupSize: 16, quality: 27, inFormat: 'y4m_12', video: 'sintel', keepIntermediates: true });
    expect(firstChunk).toBe(32);
    expect(chunks[1]!.inputs).toEqual(['sintel-y4m_12/00000033.y4m']);
    expect(chunks[1]!.outputs).toEqual(['sintel/out_27_k16/00000033.ivf', 'sintel/first_27/00000033.ivf', 'sintel/final_state_27_k16/00000033.state']);
    expect(chunks[1]!.input).toMatchObject({ chunk: 33, lastChunk: 33, groupSize: 16, keepIntermediates: true });
  });

  it('refuses an offset that does not start a group, saying why and what would', () => {
    expect(() => plan({ parts: 4, offset: 3, groupSize: 2 })).toThrow(ConfigError);
    expect(() => plan({ parts: 4, offset: 3, groupSize: 2 })).toThrow(/-o 3 is not a multiple of the group size 2: chunk c sits at place c mod K .* \(e\.g\. -o 2\)/);
    expect(() => plan({ parts: 4, offset: 2 })).toThrow(/-o 2 is not a multiple of the group size 4 \(without -K all 4 chunks are one group\)/);
    expect(plan({ parts: 4, offset: 8 }).chunks[0]!.input.groupSize).toBe(4);
    expect(() => plan({ parts: 2, offset: 99_999_999, groupSize: 1 })).toThrow(/the last chunk number would be 100000000/);
  });

  it.each([
    [{ groupSize: 0 }, /--group-size must be a whole number from 1 to 100000/],
    [{ quality: 64 }, /--quality must be a whole number from 0 to 63/],
    [{ stateWaitS: 0 }, /--state-wait must be a number of seconds above 0/],
    [{ stateWaitS: 3_000_000 }, /--state-wait must be a number of seconds above 0 and at most 2147483/],
    [{ inFormat: 'a/b' }, /--in-format must be a non-empty name without '\/' or spaces/],
  ])('refuses bad options: %o', (values, message) => {
    expect(() => compileJobRun(xcenc, values)).toThrow(message);
  });

  it('puts the state wait in the workers\' payload and gives the machine the relay the run adds', async () => {
    const { run, values } = compileJobRun(xcenc, { parts: 3, groupSize: 3, stateWaitS: 42, port: 0 });
    const { job } = await planJob(xcenc, values, run, new LocalStore(await tempDir('xc-xcenc-plan-')));
    expect(run.stateWaitMs).toBe(42_000);
    expect(job.relay).toBe(true);
    const input = job.chunks[2]!.input as XcencChunkInput;
    const connection = runConnection(xcencMachine, { ...input, relay: { host: '10.0.0.5', port: 13337 }, answerTimeoutMs: 120_000 }, {
      rules: [{ when: 'connect:', then: { answer: 'OK:CONNECT(10.0.0.5:13337:HELLO_STATE)' } }],
    });
    expect(connection.worker.commands).toContain(`connect:10.0.0.5:13337:HELLO_STATE:${input.runId}:2:3`);
    expect(connection.output).toEqual({ status: 'done' });
  });
});

describe('the payload\'s state_wait_s', () => {
  it('is checked like idle_timeout_s', () => {
    const base = { mode: 0, command: 'true' };
    expect(parseEvent({ ...base, state_wait_s: 2.5 }).state_wait_s).toBe(2.5);
    expect(parseEvent(base).state_wait_s).toBeUndefined();
    for (const bad of [0, -1, '5', 2147484]) {
      expect(() => parseEvent({ ...base, state_wait_s: bad })).toThrow(/state_wait_s must be a positive number of seconds, at most 2147483/);
    }
  });

  it('bounds a real worker\'s wait: the run fails naming the state that did not come', async () => {
    const dir = await tempDir('xc-xcenc-wait-');
    const credentials = await generateCredentials();
    const coordinator = await startScriptedCoordinator({ credentials });
    try {
      const worker = runWorker(
        workerEvent(credentials, coordinator.port, { state_wait_s: 0.5 }),
        { tmpRoot: dir },
      );
      const session = await coordinator.nextSession();
      await session.next(); // hello
      const answers = await session.play([
        { send: 'seti:expect_statefile:1' },
        { send: 'seti:run_iter:1' },
        { send: 'run:##INSTATEWAIT##true', expect: 'FAIL(' },
        { send: 'quit:', expect: null },
      ]);
      expect(answers[2]).toBe('FAIL(run: 0.state did not arrive within 0.5 s)');
      expect((await worker).reason).toBe('quit');
    } finally {
      await coordinator.close();
    }
  });
});

describe('demo excamera without its tools', () => {
  it('says in one line what to install, and exits 2', async () => {
    expect(await missingExcameraTools('')).toBe(
      'vpxenc, vpxdec, xc-enc, xc-dump not found on PATH: install vpx-tools for vpxenc and vpxdec (apt-get install vpx-tools); ' +
        'build xc-enc and xc-dump with scripts/build-alfalfa.sh SRC_DIR OUT_DIR and put OUT_DIR on PATH',
    );
    const cli = await runCli(['demo', 'excamera'], { env: { ...process.env, PATH: '/nonexistent' } });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^xc-orch demo excamera: vpxenc, vpxdec, xc-enc, xc-dump not found on PATH: install vpx-tools .*\n$/);
    expect(cli.stdout).toBe('');
  });
});

const { missing, hint } = missingXcencTools();
if (missing.length > 0) console.warn(`xcenc end-to-end tests skipped: ${missing.join(', ')} not found (${hint})`);

const WIDTH = 256;
const HEIGHT = 144;
const FRAMES = 6;
const CHUNKS = 5;
const K = 3;
const QUALITY = 30;
describe.skipIf(missing.length > 0)('xcenc end to end: local workers, the relay, real tools', () => {
  const clipDir = useTempDirs('file');
  let dir: string;
  let store: LocalStore;
  let hand: Awaited<ReturnType<typeof xcencByHand>>;
  let summary: JobSummary;
  const savedPath = process.env.PATH;

  const runXcenc = (values: Record<string, unknown>): Promise<JobSummary> => runJob(jobs.xcenc, { bucket: store.name, port: 0, quiet: true, ...values });

  beforeAll(async () => {
    dir = await clipDir('xc-jobs-xcenc-');
    store = new LocalStore(join(dir, 'store'));
    const handDir = join(dir, 'hand');
    await mkdir(handDir);
    // Local workers inherit this process's PATH: alfalfa's tools first.
    process.env.PATH = XCENC_PATH;
    const chunks = await xcencClip(handDir, { chunks: CHUNKS, frames: FRAMES, width: WIDTH, height: HEIGHT });
    for (const [c, bytes] of chunks.entries()) await store.put(`clip-y4m_06/0000000${c}.y4m`, bytes);
    [hand, summary] = await Promise.all([
      xcencByHand(handDir, CHUNKS, K, QUALITY),
      runXcenc({ parts: CHUNKS, groupSize: K, video: 'clip', keepIntermediates: true, join: join(dir, 'joined.ivf') }),
    ]);
  }, 180_000);

  afterAll(async () => {
    process.env.PATH = savedPath;
  });

  it('the coordinator starts the relay for it (relay: true), and every state went through it', () => {
    expect(summary.ok).toBe(true);
    expect(summary.relay).toMatchObject({ host: '127.0.0.1', embedded: true });
    expect(summary.relay!.status!.relayedFrames).toBeGreaterThan(0);
  });

  it('every chunk is done, and each output is byte-identical to the rebase by hand', async () => {
    expect(summary.chunks.map((c) => [c.chunk, c.status, c.reason])).toEqual(Array.from({ length: CHUNKS }, (_, c) => [c, 'done', undefined]));
    expect(summary.ok).toBe(true);
    for (let c = 0; c < CHUNKS; c++) {
      const out = await readFile(store.pathOf(`clip/out_${QUALITY}_k${K}/0000000${c}.ivf`));
      expect(out.equals(hand.finals[c]!), `chunk ${c} (place ${c % K})`).toBe(true);
    }
  });

  it('-u kept pass 0\'s vpxenc output and the final decoder state of every chunk', async () => {
    for (let c = 0; c < CHUNKS; c++) {
      expect((await readFile(store.pathOf(`clip/first_${QUALITY}/0000000${c}.ivf`))).equals(hand.independent[c]!), `first ${c}`).toBe(true);
      expect((await readFile(store.pathOf(`clip/final_state_${QUALITY}_k${K}/0000000${c}.state`))).equals(hand.finalStates[c]!), `state ${c}`).toBe(true);
    }
  });

  it('--join wrote one stream that decodes to every frame, key frames only at the group heads', async () => {
    const file = join(dir, 'joined.ivf');
    expect(summary.after).toEqual({ ok: true, line: `joined ${CHUNKS} chunks (${CHUNKS * FRAMES} frames) into ${file}`, outputs: [file] });
    const frames = parseIvf(await readFile(file), file).frames;
    expect(frames).toHaveLength(CHUNKS * FRAMES);
    expect(vp8KeyFrames(frames)).toEqual([0, K * FRAMES]);
    const yuv = join(dir, 'joined.yuv');
    await runTool('vpxdec', ['--i420', '-o', yuv, file]);
    expect((await stat(yuv)).size).toBe(CHUNKS * FRAMES * WIDTH * HEIGHT * 1.5);
  });

  it('the demo\'s check accepts the joined stream and names what is wrong with a wrong expectation', async () => {
    const file = join(dir, 'joined.ivf');
    expect(await missingExcameraTools(XCENC_PATH)).toBeUndefined();
    expect(await checkJoinedStream(file, { frames: CHUNKS * FRAMES, groupFrames: K * FRAMES, width: WIDTH, height: HEIGHT })).toEqual([]);
    expect(await checkJoinedStream(file, { frames: CHUNKS * FRAMES, groupFrames: FRAMES, width: WIDTH, height: HEIGHT })).toEqual([
      `${file} has key frames at 0, 18, not only at the group heads 0, 6, 12, 18, 24`,
    ]);
    expect(await checkJoinedStream(file, { frames: 31, groupFrames: K * FRAMES, width: WIDTH, height: HEIGHT })).toEqual([
      `${file} holds 30 frames, not 31`,
      `vpxdec decoded 30 frames of ${WIDTH}x${HEIGHT} from ${file}, not 31`,
    ]);
  });

  it('a state that never comes fails its dependant within --state-wait, naming the state, and --join is not attempted', async () => {
    // Chunk 0 is not Y4M: its vpxenc fails, so STATE(0) is never sent to chunk 1.
    await store.put('bad-y4m_06/00000000.y4m', Buffer.from('not a y4m file\n'));
    await store.put('bad-y4m_06/00000001.y4m', await readFile(store.pathOf('clip-y4m_06/00000001.y4m')));
    const failed = await runXcenc({ parts: 2, groupSize: 2, video: 'bad', stateWaitS: 2, join: join(dir, 'bad.ivf') });
    expect(failed.ok).toBe(false);
    expect(failed.chunks[0]).toMatchObject({ chunk: 0, status: 'failed', state: 'pass0.vpxenc' });
    expect(failed.chunks[1]).toMatchObject({ chunk: 1, status: 'failed', state: 'rebase.pass.xc_enc' });
    expect(failed.chunks[1]!.reason).toContain('FAIL(run: 0.state did not arrive within 2 s)');
    expect(failed.after).toBeUndefined();
    await expect(stat(join(dir, 'bad.ivf'))).rejects.toThrow(/ENOENT/);
  }, 60_000);
});
