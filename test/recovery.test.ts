/**
 * Recovery end to end, with real worker processes on 127.0.0.1: workers SIGKILLed mid-job are
 * retried, every chunk byte-identical to a direct png2y4m conversion (what a run without faults
 * gives), a frozen worker is overtaken by a speculative copy and killed at the end, Lambda's
 * throttling and duplicate deliveries leave every chunk done once, a coordinator SIGKILLed mid-job
 * is resumed with `--resume` redoing only what is missing, and the local pool never runs more
 * workers than `--local-workers`. Workers are found from their side: a wrapper logs each pid.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedClip } from '../cli/demo.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import type { JobSummary } from '../runtime/coordinator/coordinator.js';
import { createLocalLauncher, defaultWorkerCommand } from '../runtime/launch/localLauncher.js';
import { createLambdaLauncher } from '../runtime/launch/lambdaLauncher.js';
import { lambdaize } from '../runtime/lambda/lambdaize.js';
import { verifyChunks } from '../runtime/demo/verifyChunks.js';
import { LocalStore } from '../store/localStore.js';
import { startLambdaFixture, type LambdaFixture } from './support/lambdaFixture.js';
import { mulberry32 } from './support/mulberry32.js';
import { useTempDirs } from './support/tempDirs.js';

const CLI = fileURLToPath(new URL('../bin/xc-orch.js', import.meta.url));
const FRAMES = 40;
const SIZE = { width: 64, height: 48 };
const WAIT = { timeout: 60_000, interval: 25 };
const key = (chunk: number) => `clip-y4m_01/${String(chunk).padStart(8, '0')}.y4m`;

const tempDir = useTempDirs('file');
let dir: string;

/** A store holding the clip's frames, one per chunk (-f 1). */
async function seeded(name: string): Promise<LocalStore> {
  const store = new LocalStore(join(dir, name));
  await seedClip(store, 'clip', FRAMES, SIZE);
  return store;
}

/** The worker command behind a shell that appends `start PID` to `log`, then becomes the worker (same pid). */
async function loggedWorker(log: string): Promise<{ file: string; args: string[] }> {
  const { file, args } = defaultWorkerCommand();
  const quoted = [file, ...args].map((a) => `'${a}'`).join(' ');
  const script = join(dir, `worker-${log.slice(log.lastIndexOf('/') + 1)}.sh`);
  await writeFile(script, `echo "start $$" >> '${log}'\nexec ${quoted}\n`);
  return { file: 'sh', args: [script] };
}

const logLines = async (log: string): Promise<string[]> => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
/** Pids of the workers a log names (`start PID` lines), in the order they started. */
const startedPids = (text: string): number[] => text.split('\n').filter((l) => l.startsWith('start ')).map((l) => Number(l.slice(6)));
const pidsOf = async (log: string): Promise<number[]> => startedPids(await readFile(log, 'utf8').catch(() => ''));
/** The same, read at once: for a hook that must act in the turn it is told. */
const pidsOfNow = (log: string): number[] => startedPids(readFileSync(log, 'utf8'));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every chunk byte for byte what png2y4m gives for its frame directly, as in a run without faults. */
async function expectChunksRight(store: LocalStore, parts: number): Promise<void> {
  expect(await verifyChunks(store, { parts, frames: 1, video: 'clip' })).toEqual([]);
}

const doneOnce = (summary: JobSummary) => summary.chunks.map((c) => c.attempts.filter((a) => a.outcome === 'done').length);

beforeAll(async () => {
  dir = await tempDir('xc-recovery-');
});

describe('recovery with local workers', () => {
  it('24 chunks, a quarter of the workers SIGKILLed (at random moments, and mid-chunk): every chunk byte-identical to a run without faults', async () => {
    const store = await seeded('killed');
    const log = join(dir, 'killed.log');
    const launcher = createLocalLauncher({ command: await loggedWorker(log), maxAlive: 4 });
    const random = mulberry32(7);
    const victims = new Set<number>();
    while (victims.size < 6) victims.add(Math.floor(random() * 24));
    // Half the victims die at a random moment (before they connect, mid-chunk or after); the other
    // half die while their chunk is in progress, so that some attempt is certainly lost and retried.
    const midChunk = new Set([...victims].filter((_, rank) => rank % 2 === 0));
    const killed: number[] = [];
    const killedMidChunk: Array<{ chunk: number; state: string }> = [];
    const seen = new Set<number>();
    let running = true;
    // Invocation i is the i-th worker spawned and chunk i's (retries come later in the log).
    const watcher = (async () => {
      const until = Date.now() + 90_000;
      while (running && Date.now() < until) {
        const pids = await pidsOf(log);
        pids.slice(0, 24).forEach((pid, index) => {
          if (seen.has(pid) || !victims.has(index) || midChunk.has(index)) return;
          seen.add(pid);
          setTimeout(() => {
            if (!alive(pid)) return;
            process.kill(pid, 'SIGKILL');
            killed.push(pid);
          }, 100 + Math.floor(random() * 1200));
        });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const summary = await runJob(
      png2y4m,
      { parts: 24, frames: 1, video: 'clip', bucket: store.name, port: 0, quiet: true, retries: 3 },
      {
        launcher,
        // The mid-chunk victims die in the turn their first retrieve: goes out: certainly mid-chunk.
        onWorkerState: ({ chunk, state }) => {
          if (!midChunk.has(chunk) || !state.endsWith('.retrieve') || killedMidChunk.some((k) => k.chunk === chunk)) return;
          const pid = pidsOfNow(log)[chunk]!;
          if (!alive(pid)) return;
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
          killedMidChunk.push({ chunk, state });
        },
      },
    );
    running = false;
    await watcher;
    expect(summary.ok, JSON.stringify(summary.chunks.filter((c) => c.status !== 'done'))).toBe(true);
    expect(killedMidChunk.length, 'no victim was caught mid-chunk').toBeGreaterThan(0);
    // Every kill that cost a chunk its attempt was made good by a retry.
    expect(summary.recovery.retries, JSON.stringify(killedMidChunk)).toBeGreaterThan(0);
    for (const { chunk } of killedMidChunk) {
      expect(summary.chunks[chunk]!.attempts.map((a) => a.outcome), `chunk ${chunk}`).toContain('done');
    }
    expect(summary.chunks.some((c) => c.attempts.some((a) => a.kind === 'retry' && a.outcome === 'done'))).toBe(true);
    expect(doneOnce(summary)).toEqual(new Array(24).fill(1));
    await expectChunksRight(store, 24);
    expect(summary.cost.workerSeconds).toBeGreaterThan(0);
  }, 120_000);

  it('one worker SIGSTOPped mid-chunk: a speculative copy finishes the job well within the answer timeout, and the frozen worker is killed at the end', async () => {
    const store = await seeded('frozen');
    const log = join(dir, 'frozen.log');
    const launcher = createLocalLauncher({ command: await loggedWorker(log), maxAlive: 4, killGraceMs: 500 });
    // Invocation 7 is the 8th worker spawned, and chunk 7's first: it is frozen in the very turn its
    // `run:` goes out, so it is certainly mid-chunk (a poll of the status could come too late).
    let frozen: number | undefined;
    const summary = await runJob(
      png2y4m,
      { parts: 8, frames: 1, video: 'clip', bucket: store.name, port: 0, quiet: true, answerTimeoutS: 120, stragglerFactor: 2 },
      {
        launcher,
        onWorkerState: ({ chunk, state }) => {
          if (chunk !== 7 || frozen !== undefined || !state.endsWith('.run')) return;
          frozen = pidsOfNow(log)[7]!;
          process.kill(frozen, 'SIGSTOP');
        },
      },
    );
    if (frozen === undefined) throw new Error('chunk 7 never ran');
    expect(summary.ok, JSON.stringify(summary.chunks.filter((c) => c.status !== 'done'))).toBe(true);
    expect(summary.seconds).toBeLessThan(60);
    expect(summary.recovery.speculative).toBeGreaterThanOrEqual(1);
    const chunk7 = summary.chunks[7]!;
    expect(chunk7.attempts.map((a) => [a.kind, a.outcome])).toEqual([['first', 'cancelled'], ['speculative', 'done']]);
    expect(doneOnce(summary)).toEqual(new Array(8).fill(1));
    expect(alive(frozen)).toBe(false);
    await expectChunksRight(store, 8);
  }, 120_000);

  it('-n 40 --local-workers 2: never more than 2 workers alive at once, and every chunk right', async () => {
    const store = await seeded('pool');
    const log = join(dir, 'pool.log');
    // Every worker process (not its threads) logs its start and its exit, from its own side.
    const preload = join(dir, 'count-workers.cjs');
    await writeFile(
      preload,
      `const { appendFileSync } = require('node:fs');\n` +
        `if (require('node:worker_threads').isMainThread && process.argv.includes('worker')) {\n` +
        `  appendFileSync(${JSON.stringify(log)}, 'start ' + process.pid + '\\n');\n` +
        `  process.on('exit', () => appendFileSync(${JSON.stringify(log)}, 'end ' + process.pid + '\\n'));\n` +
        `}\n`,
    );
    vi.stubEnv('NODE_OPTIONS', `--require ${preload}`);
    let summary: JobSummary;
    try {
      summary = await runJob(png2y4m, { parts: 40, frames: 1, video: 'clip', bucket: store.name, port: 0, quiet: true, localWorkers: 2 });
    } finally {
      vi.unstubAllEnvs();
    }
    expect(summary.ok, JSON.stringify(summary.chunks.filter((c) => c.status !== 'done'))).toBe(true);
    let live = 0;
    let most = 0;
    const lines = await logLines(log);
    for (const line of lines) {
      live += line.startsWith('start ') ? 1 : -1;
      most = Math.max(most, live);
    }
    // One worker per chunk, plus any retry or speculative copy a slow machine made (they go through the same pool).
    const { retries, speculative } = summary.recovery;
    expect(lines.filter((l) => l.startsWith('start ')).length, JSON.stringify(summary.recovery)).toBe(40 + retries + speculative);
    expect(most).toBe(2);
    expect(doneOnce(summary)).toEqual(new Array(40).fill(1));
    await expectChunksRight(store, 40);
  }, 180_000);
});

describe('resume', () => {
  it('coordinator SIGKILLed mid-job, then the same command with --resume: only missing chunks run, outputs complete, nothing extra in the store', async () => {
    const parts = 12;
    const store = await seeded('resume');
    const outDir = dirname(store.pathOf(key(0)));
    // No speculative copies: a slow worker start on a busy machine would make one, and this test
    // counts attempts to show that only the missing chunks ran.
    const args = [CLI, 'run', 'png2y4m', '-n', String(parts), '-f', '1', '-v', 'clip', '-b', store.name, '-t', '0', '-q', '--local-workers', '2', '--no-speculation', '--json'];
    const first = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const outputs = async () => (await readdir(outDir).catch(() => [] as string[])).filter((f) => f.endsWith('.y4m'));
    await vi.waitFor(async () => expect((await outputs()).length).toBeGreaterThanOrEqual(4), WAIT);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('close', resolve));
    // Its workers lose their coordinator and end; what they had uploaded is there, complete.
    const before = new Map<string, number>();
    for (const name of await outputs()) before.set(name, (await stat(join(outDir, name))).mtimeMs);
    expect(before.size).toBeLessThan(parts);

    const second = spawn(process.execPath, [...args, '--resume'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    second.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('close', resolve));
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as JobSummary;
    const skipped = summary.chunks.filter((c) => c.status === 'skipped').map((c) => key(c.chunk).split('/')[1]);
    // Every chunk there before is skipped and untouched; every other one was run once.
    for (const name of before.keys()) expect(skipped).toContain(name);
    for (const [name, mtimeMs] of before) expect((await stat(join(outDir, name))).mtimeMs).toBe(mtimeMs);
    expect(summary.chunks.filter((c) => c.status === 'done').length + skipped.length).toBe(parts);
    for (const chunk of summary.chunks) expect(chunk.attempts.length).toBe(chunk.status === 'skipped' ? 0 : 1);
    await expectChunksRight(store, parts);
    const all = await readdir(outDir);
    expect(all.filter((f) => f.includes('.xc-partial-'))).toEqual([]);
    expect(all.length).toBe(parts);
  }, 120_000);
});

describe('recovery on Lambda', () => {
  let fixture: LambdaFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
    vi.unstubAllEnvs();
  });

  it('half the Invokes throttled and some delivered twice: every chunk done exactly once', async () => {
    fixture = await startLambdaFixture({ mode: 'run', throttleShare: 0.5, duplicateShare: 0.5, seed: 3 });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDRECOVERY');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'recovery-secret');
    const deployed = await lambdaize(
      { builtin: 'png2y4m', role: 'arn:aws:iam::123456789012:role/xc-orch-recovery', region: 'us-east-1', endpoint: fixture.endpoint, outDir: dir },
      process.env,
    );
    const functionName = deployed.functions![0]!.FunctionName!;
    const store = await seeded('lambda');
    const launcher = createLambdaLauncher({ functionName, regions: ['us-east-1'], endpoint: fixture.endpoint, baseDelayMs: 5, maxDelayMs: 50 });
    const summary = await runJob(
      png2y4m,
      { parts: 6, frames: 1, video: 'clip', bucket: store.name, port: 0, quiet: true, functionName, launcher: 'lambda', lambdaEndpoint: fixture.endpoint, host: '127.0.0.1' },
      { launcher },
    );
    expect(summary.ok, JSON.stringify(summary.chunks.filter((c) => c.status !== 'done'))).toBe(true);
    expect(fixture.counts.throttled).toBeGreaterThan(0);
    expect(fixture.counts.duplicated).toBeGreaterThan(0);
    expect(summary.chunks.map((c) => c.status)).toEqual(new Array(6).fill('done'));
    expect(doneOnce(summary)).toEqual(new Array(6).fill(1));
    await expectChunksRight(store, 6);
    // The estimate: GB-seconds at lambdaize's default memory, priced for us-east-1.
    expect(summary.cost.lambda).toMatchObject({ memoryMb: 1536, requests: 6 });
    expect(summary.cost.lambda!.dollars).toBeGreaterThan(0);
  }, 180_000);
});
