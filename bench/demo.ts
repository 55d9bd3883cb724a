/**
 * How long `xc-orch demo` takes from the user's side (clip written, job run, chunks checked), and
 * where the time goes. Measured in one run, alternating, against two baselines:
 *  - node start-up (`node -e ''`), the floor of any command;
 *  - the job alone: `xc-orch run png2y4m` with the demo's shape on an already seeded store, the
 *    part a demo cannot avoid.
 * Each `demo` run writes into a fresh store. The README's own command, `npx xc-orch demo`, is timed
 * as a fresh clone's first command: npx with an empty cache of its own, so it links this folder
 * into that cache (and runs `prepare`) as it does the first time. Wall time and CPU time (user + system of the process
 * and the worker processes it waited for, from /usr/bin/time). Then the demo's stages timed
 * in process (seed the clip, run the job, check the chunks), medians of the same number of runs.
 *
 * Run by hand: npm run bench:demo [-- RUNS]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { median } from './median.js';
import { fromDist, ROOT } from './fromDist.js';

const RUNS = Number(process.argv[2] ?? 5);
const CLI = join(ROOT, 'bin/xc-orch.js');
const { seedClip } = await fromDist<typeof import('../cli/demo.js')>('cli/demo.js');
const { runJob } = await fromDist<typeof import('../runtime/coordinator/runJob.js')>('runtime/coordinator/runJob.js');
const { png2y4m } = await fromDist<typeof import('../jobs/png2y4m.js')>('jobs/png2y4m.js');
const { verifyChunks } = await fromDist<typeof import('../runtime/demo/verifyChunks.js')>('runtime/demo/verifyChunks.js');
const { LocalStore } = await fromDist<typeof import('../store/localStore.js')>('store/localStore.js');
const TIME = '/usr/bin/time';
const NPX = join(dirname(process.execPath), 'npx');
const PARTS = 4;
const FRAMES = 6;
/** The goal of issue 12. */
const TARGET_MS = 5000;

interface Sample {
  wall: number;
  cpu: number;
}

const medianOf = (samples: Sample[]): Sample => ({ wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) });

/** Wall and CPU milliseconds of `node ARGS` (or of `program ARGS`); fails loudly when the command does. */
function run(args: string[], program: string = process.execPath, env: NodeJS.ProcessEnv = process.env): Sample {
  const start = performance.now();
  const result = spawnSync(TIME, ['-f', 'xc-cpu %U %S', program, ...args], { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT, env });
  const wall = performance.now() - start;
  const stderr = result.stderr.toString();
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (exit ${result.status}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const match = /xc-cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (!match) throw new Error(`no CPU time in: ${stderr.slice(-200)}`);
  return { wall, cpu: (Number(match[1]) + Number(match[2])) * 1000 };
}

async function timed<T>(action: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await action();
  return [value, performance.now() - start];
}

if (!existsSync(TIME)) throw new Error(`${TIME} is needed to measure the CPU time of the demo's processes`);
const work = mkdtempSync(join(tmpdir(), 'xc-bench-demo-'));
try {
  console.log(`xc-orch demo: -n ${PARTS} -f ${FRAMES} (1024x436 16-bit), median of ${RUNS} runs, node ${process.version}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const seeded = join(work, 'seeded');
  const shape = ['-n', String(PARTS), '-f', String(FRAMES), '-q'];
  run([CLI, 'demo', ...shape, '-b', `file:${seeded}`]);

  const samples: Record<'startup' | 'job' | 'demo' | 'npx', Sample[]> = { startup: [], job: [], demo: [], npx: [] };
  for (let r = 0; r < RUNS; r++) {
    const fresh = join(work, `fresh-${r}`);
    const order = r % 2 === 0 ? (['startup', 'job', 'demo', 'npx'] as const) : (['npx', 'demo', 'job', 'startup'] as const);
    for (const what of order) {
      if (what === 'startup') samples.startup.push(run(['-e', '']));
      else if (what === 'job') samples.job.push(run([CLI, 'run', 'png2y4m', ...shape, '-b', `file:${seeded}`]));
      else if (what === 'demo') samples.demo.push(run([CLI, 'demo', ...shape, '-b', `file:${fresh}`]));
      else {
        // Nothing but this folder is installed into the empty cache: no network.
        const env = { ...process.env, npm_config_cache: join(work, `npx-cache-${r}`), npm_config_offline: 'true' };
        samples.npx.push(run(['xc-orch', 'demo', ...shape, '-b', `file:${fresh}-npx`], NPX, env));
      }
    }
    rmSync(fresh, { recursive: true, force: true });
    rmSync(`${fresh}-npx`, { recursive: true, force: true });
  }
  const row = (label: string, sample: Sample): Sample => {
    console.log(`${label.padEnd(44)} ${sample.wall.toFixed(0).padStart(7)} ${sample.cpu.toFixed(0).padStart(7)}`);
    return sample;
  };
  console.log(`${'ms (median)'.padEnd(44)} ${'wall'.padStart(7)} ${'cpu'.padStart(7)}`);
  const startup = row("baseline: node start-up (node -e '')", medianOf(samples.startup));
  const job = row('baseline: the job alone (run png2y4m)', medianOf(samples.job));
  const demo = row('xc-orch demo (fresh store)', medianOf(samples.demo));
  const npx = row("npx xc-orch demo, a fresh clone's first command", medianOf(samples.npx));

  const stages: Record<'seed' | 'job' | 'check', number[]> = { seed: [], job: [], check: [] };
  for (let r = 0; r < RUNS; r++) {
    const store = new LocalStore(join(work, `stages-${r}`));
    const chunks = { parts: PARTS, frames: FRAMES, video: 'sintel-1k' };
    stages.seed.push((await timed(() => seedClip(store, chunks.video, PARTS * FRAMES)))[1]);
    const [summary, jobMs] = await timed(() => runJob(png2y4m, { ...chunks, bucket: store.name, port: 0, quiet: true }));
    if (!summary.ok) throw new Error(`stage run ${r + 1}: the job failed`);
    stages.job.push(jobMs);
    const [problems, checkMs] = await timed(() => verifyChunks(store, chunks));
    if (problems.length > 0) throw new Error(`stage run ${r + 1}: ${problems[0]}`);
    stages.check.push(checkMs);
    rmSync(join(work, `stages-${r}`), { recursive: true, force: true });
  }
  console.log(`\nstages in process, wall ms (median): seed clip ${median(stages.seed).toFixed(0)}, job ${median(stages.job).toFixed(0)}, check ${median(stages.check).toFixed(0)}`);
  console.log('\nratios (wall / cpu)');
  console.log(`  demo vs the job alone: ${(demo.wall / job.wall).toFixed(2)}x / ${(demo.cpu / job.cpu).toFixed(2)}x`);
  console.log(`  demo vs node start-up: ${(demo.wall / startup.wall).toFixed(1)}x / ${(demo.cpu / startup.cpu).toFixed(1)}x`);
  console.log(`  demo wall vs the ${TARGET_MS / 1000} s goal: ${(demo.wall / TARGET_MS).toFixed(2)}x`);
  console.log(`  npx xc-orch demo (the README's command, first time) vs the goal: ${(npx.wall / TARGET_MS).toFixed(2)}x`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
