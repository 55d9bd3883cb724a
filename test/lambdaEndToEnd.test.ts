/**
 * The png2y4m job on (fake) Lambda, end to end: `lambdaize --builtin png2y4m` creates the function
 * on the fake Lambda, the real coordinator launches 4 workers through the Lambda launcher (with a
 * share of Invokes throttled), the fixture runs the zip's `index.handler` for each, and the Y4M
 * chunks must be byte-identical to those of a run with local workers. Needs dist/ for the local
 * run's workers (npm test builds it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import { lambdaize } from '../runtime/lambda/lambdaize.js';
import { createLambdaLauncher } from '../runtime/launch/lambdaLauncher.js';
import { LocalStore } from '../store/localStore.js';
import { seedClip } from '../cli/demo.js';
import { IN_PROCESS_ENV } from '../worker/builtinTools.js';
import { startLambdaFixture, type LambdaFixture } from './support/lambdaFixture.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const ROLE = 'arn:aws:iam::123456789012:role/xc-orch-e2e';
const PARTS = 4;
const FRAMES = 2;
const tempDir = useTempDirs();
let dir: string;
let fixture: LambdaFixture | undefined;

beforeEach(async () => {
  dir = await tempDir('xc-lambda-e2e-');
});
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  vi.unstubAllEnvs();
});

async function seededStore(name: string): Promise<LocalStore> {
  const store = new LocalStore(join(dir, name));
  await seedClip(store, 'clip', PARTS * FRAMES, { width: 64, height: 48 });
  return store;
}

describe('png2y4m on the fake Lambda', () => {
  it('lambdaize, deploy, 4 Lambda workers: chunks identical to a local run', async () => {
    fixture = await startLambdaFixture({ mode: 'run', throttleShare: 0.3, seed: 11 });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDE2E');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'e2e-secret');
    const deployed = await lambdaize({ builtin: 'png2y4m', role: ROLE, region: 'us-east-1', endpoint: fixture.endpoint, outDir: dir }, process.env);
    const functionName = deployed.functions![0]!.FunctionName!;

    const localStore = await seededStore('local');
    const local = await runJob(png2y4m, { parts: PARTS, frames: FRAMES, video: 'clip', bucket: localStore.name, port: 0, quiet: true });
    expect(local.ok, JSON.stringify(local.chunks[0])).toBe(true);

    const lambdaStore = await seededStore('lambda');
    const launcher = createLambdaLauncher({ functionName, regions: ['us-east-1'], endpoint: fixture.endpoint, baseDelayMs: 5, maxDelayMs: 50 });
    const summary = await runJob(png2y4m, { parts: PARTS, frames: FRAMES, video: 'clip', bucket: lambdaStore.name, port: 0, quiet: true, functionName }, { launcher });
    expect(summary.ok, JSON.stringify(summary)).toBe(true);
    expect(summary.launchFailures).toEqual([]);
    expect(launcher.lastSummary()).toMatchObject({ requested: PARTS, accepted: PARTS, failed: 0 });

    for (const chunk of local.chunks) {
      const [key] = chunk.outputs;
      const [expected, got] = await Promise.all([readFile(localStore.pathOf(key!)), readFile(lambdaStore.pathOf(key!))]);
      expect(got.equals(expected), key).toBe(true);
    }
    // Every Lambda worker ended cleanly on quit:, as the handler reports it to Lambda.
    const runs = await fixture.waitForRuns(PARTS);
    for (const run of runs) expect(JSON.parse(run.stdout), run.stderr).toMatchObject({ ok: true, reason: 'quit' });
  });

  it('`xc-orch run png2y4m --launcher lambda` from the command line, with half the Invokes throttled, every frame through bin/png2y4m', async () => {
    // XC_PNG2Y4M_INPROCESS=0: each frame runs the zip's bin/png2y4m wrapper and bundle through the
    // shell, the path that a broken wrapper breaks (issue 15); the test above converts in-process.
    fixture = await startLambdaFixture({ mode: 'run', throttleShare: 0.5, seed: 5, handlerEnv: { [IN_PROCESS_ENV]: '0' } });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDE2E');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'e2e-secret');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const env = { ...process.env };
    // Two copies of the function (lambdaize --copies 2), and the run spreads its workers over both.
    const deployed = await lambdaize({ builtin: 'png2y4m', role: ROLE, region: 'us-east-1', endpoint: fixture.endpoint, outDir: dir, name: 'pngcopy', copies: 2 }, env);
    expect(deployed.functions!.map((f) => f.FunctionName)).toEqual(['pngcopy-0', 'pngcopy-1']);
    const store = await seededStore('cli');
    const { code, stdout, stderr } = await runCli(
      ['run', 'png2y4m', '--launcher', 'lambda', '-l', 'pngcopy', '--function-copies', '2', '--lambda-endpoint', fixture.endpoint,
        '--host', '127.0.0.1', '-t', '0', '-n', String(PARTS), '-f', String(FRAMES), '-v', 'clip', '-b', store.name],
      { env, timeoutMs: 60_000 },
    );
    expect(code, stderr).toBe(0);
    expect(new Set(fixture.runs.map((r) => r.functionName))).toEqual(new Set(['pngcopy-0', 'pngcopy-1']));
    expect(stderr).toMatch(new RegExp(`launched ${PARTS}/${PARTS} in .* throttled`));
    expect(stdout.trim().split('\n')).toEqual(
      Array.from({ length: PARTS }, (_, chunk) => store.pathOf(`clip-y4m_02/${String(chunk).padStart(8, '0')}.y4m`)),
    );
    expect(stderr).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|e2e-secret/);
  });
});
