/**
 * The coordinator with a launcher under the test's control: cancellation, and workers that are
 * launched but never arrive.
 */
import { beforeEach, expect, it, vi } from 'vitest';
import { Coordinator } from '../runtime/coordinator/coordinator.js';
import type { Launcher, LaunchReport, LaunchRequest } from '../runtime/launch/launcher.js';
import { LocalStore } from '../store/localStore.js';
import { createLogger } from '../common/logger.js';
import { compileJobRun, planJob } from '../runtime/coordinator/runJob.js';
import { png2y4m } from '../jobs/png2y4m.js';
import type { JobRunOptions } from '../runtime/coordinator/runJob.js';
import { WAIT } from './support/wait.js';
import { captureLogger } from './support/captureLogger.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-coordinator-');
});

/** A png2y4m coordinator with this launcher; nothing checks the inputs, since no worker comes. */
async function coordinatorFor(given: JobRunOptions<typeof png2y4m>, launcher: Launcher): Promise<Coordinator> {
  const { run, values } = compileJobRun(png2y4m, { port: 0, quiet: true, ...given });
  const store = new LocalStore(dir);
  const { job } = await planJob(png2y4m, values, run, store);
  return Coordinator.create(run, job, { store, log: createLogger({ name: 'test', level: 'silent' }), launcher });
}

/** Accepts every launch and starts nothing: the workers never arrive. */
function silentLauncher(): Launcher & { requests: LaunchRequest[]; stopped: boolean } {
  const launcher = {
    requests: [] as LaunchRequest[],
    stopped: false,
    async launch(requests: LaunchRequest[], report: (r: LaunchReport) => void) {
      launcher.requests.push(...requests);
      for (const { invocation } of requests) report({ type: 'accepted', invocation });
    },
    async stop() {
      launcher.stopped = true;
    },
  };
  return launcher;
}

it('cancel() ends a job whose workers never came, naming the reason for every chunk', async () => {
  const launcher = silentLauncher();
  const coordinator = await coordinatorFor({ parts: 2, spares: 1 }, launcher);
  const summary = coordinator.run();
  await vi.waitFor(() => expect(coordinator.status()).toMatchObject({ launched: 3, waiting: 2, active: 0 }), WAIT);
  coordinator.cancel('interrupted by SIGINT');
  const result = await summary;
  expect(result.ok).toBe(false);
  expect(result.chunks.map((c) => [c.status, c.reason])).toEqual([
    ['missing', 'no worker arrived before the job was cancelled (interrupted by SIGINT)'],
    ['missing', 'no worker arrived before the job was cancelled (interrupted by SIGINT)'],
  ]);
  expect(launcher.requests.map((r) => r.invocation)).toEqual([0, 1, 2]);
  expect(launcher.stopped).toBe(true);
  // Every payload names its invocation, and none carries AWS credentials.
  expect(launcher.requests.map((r) => r.event.id)).toEqual([0, 1, 2]);
  expect(JSON.stringify(launcher.requests)).not.toMatch(/AWS_|aws_secret|SecretAccessKey/i);
});

it('warns of a launch that fails while the job runs, not of those its launcher drops as the job ends', async () => {
  const { logger, lines } = captureLogger('warn');
  // Starts nothing: the first launch fails at once, the rest wait in a queue until stop().
  let queued: Array<{ invocation: number; report: (r: LaunchReport) => void }> = [];
  const launcher: Launcher = {
    async launch(requests, report) {
      for (const { invocation } of requests) {
        if (invocation === 0) report({ type: 'failed', invocation, reason: 'throttled for good' });
        else queued.push({ invocation, report });
      }
    },
    async stop() {
      for (const { invocation, report } of queued) report({ type: 'failed', invocation, reason: 'launcher stopped' });
      queued = [];
    },
  };
  const { run, values } = compileJobRun(png2y4m, { port: 0, quiet: true, parts: 3, retries: 0 });
  const store = new LocalStore(dir);
  const { job } = await planJob(png2y4m, values, run, store);
  const coordinator = await Coordinator.create(run, job, { store, log: logger, launcher });
  const summary = coordinator.run();
  await vi.waitFor(() => expect(lines.join('')).toContain('throttled for good'), WAIT);
  coordinator.cancel('interrupted by SIGINT');
  await summary;
  const warned = lines.map((line) => JSON.parse(line) as { msg: string; invocation?: number; reason?: string });
  expect(warned.map(({ msg, invocation, reason }) => [msg, invocation, reason])).toEqual([['launch failed', 0, 'throttled for good']]);
});

it('ends by itself after -m seconds when workers never arrive', async () => {
  const coordinator = await coordinatorFor({ parts: 1, killAfterS: 0.2 }, silentLauncher());
  const result = await coordinator.run();
  expect(result.chunks).toEqual([
    expect.objectContaining({ chunk: 0, status: 'missing', reason: 'no worker arrived before the kill timeout (200 ms)' }),
  ]);
});

it('does not wait for a worker whose process exited before connecting; each retry is a new invocation, and the chunk names every reason', async () => {
  const launched: number[] = [];
  const launcher: Launcher = {
    async launch(requests, report) {
      for (const { invocation } of requests) {
        launched.push(invocation);
        report({ type: 'accepted', invocation });
        report({ type: 'exited', invocation, code: 1, signal: null, detail: 'xc-orch worker: cannot connect to 10.0.0.1:13579' });
      }
    },
    async stop() {},
  };
  const coordinator = await coordinatorFor({ parts: 2, retries: 1 }, launcher);
  const result = await coordinator.run();
  expect(result.ok).toBe(false);
  const exited = 'worker process exited with code 1 before connecting: xc-orch worker: cannot connect to 10.0.0.1:13579';
  expect(result.chunks.map((c) => c.reason)).toEqual([
    `no worker arrived (2 attempts: 1) launch of invocation 0 failed: ${exited}; 2) launch of invocation 2 failed: ${exited})`,
    `no worker arrived (2 attempts: 1) launch of invocation 1 failed: ${exited}; 2) launch of invocation 3 failed: ${exited})`,
  ]);
  expect(result.chunks[0]!.attempts.map((a) => [a.kind, a.outcome, a.invocation])).toEqual([['first', 'failed', 0], ['retry', 'failed', 2]]);
  expect(launched.sort()).toEqual([0, 1, 2, 3]);
  expect(result.recovery).toEqual({ retries: 2, speculative: 0, cancelled: 0 });
  expect(result.launchFailures.map((f) => f.invocation).sort()).toEqual([0, 1, 2, 3]);
});
