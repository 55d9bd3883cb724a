/**
 * Local runs of any size: `xc-orch run png2y4m -n N -f 1` with local workers (the default pool,
 * one worker process per core alive at once) at a small N, the baseline, and a large N, in the same
 * run. What must hold: the large run finishes, its peak memory (the coordinator and every worker
 * process alive at that moment, summed) stays that of the small run instead of growing with N, and
 * the cost per chunk stays flat.
 *
 * Memory is sampled from /proc every 100 ms over the CLI's process tree (resident set sizes summed),
 * and the most worker processes alive at once is counted on the way. Frames are small (64x48) so
 * that the run measures the orchestration, not the conversion.
 *
 * Run by hand: npm run bench:local-run [-- LARGE_N [SMALL_N]]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDist, ROOT } from './fromDist.js';

const LARGE = Number(process.argv[2] ?? 1000);
const SMALL = Number(process.argv[3] ?? 40);
const CLI = join(ROOT, 'bin/xc-orch.js');
const { seedClip } = await fromDist<typeof import('../cli/demo.js')>('cli/demo.js');
const { LocalStore } = await fromDist<typeof import('../store/localStore.js')>('store/localStore.js');
const PAGE_KIB = 4;
const SAMPLE_MS = 100;
/** Far above what the large run needs on this machine; a hang ends the bench instead of the machine's evening. */
const RUN_LIMIT_MS = 30 * 60_000;

interface Outcome {
  parts: number;
  wallMs: number;
  peakTreeMiB: number;
  mostWorkers: number;
}

/** Direct children of `pid` (all threads' children), from /proc. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (child !== '') found.push(Number(child));
    } catch {
      // The thread ended while we looked.
    }
  }
  return found;
}

/** Resident KiB of one process (0 once it has gone). */
function residentKiB(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_KIB;
  } catch {
    return 0;
  }
}

/** The tree under `root`: total resident KiB, and how many worker processes (`... worker`) it holds. */
function sampleTree(root: number): { kib: number; workers: number } {
  let kib = 0;
  let workers = 0;
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    kib += residentKiB(pid);
    if (pid !== root) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('worker')) workers++;
      } catch {
        // Gone already.
      }
    }
    pending.push(...childrenOf(pid));
  }
  return { kib, workers };
}

async function runParts(work: string, parts: number): Promise<Outcome> {
  const bucket = join(work, `store-${parts}`);
  await seedClip(new LocalStore(bucket), 'clip', parts, { width: 64, height: 48 });
  const args = [CLI, 'run', 'png2y4m', '-n', String(parts), '-f', '1', '-v', 'clip', '-b', `file:${bucket}`, '-t', '0', '-q', '--json'];
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let peakKiB = 0;
  let mostWorkers = 0;
  const sampler = setInterval(() => {
    const { kib, workers } = sampleTree(child.pid!);
    peakKiB = Math.max(peakKiB, kib);
    mostWorkers = Math.max(mostWorkers, workers);
  }, SAMPLE_MS);
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const wallMs = performance.now() - start;
  clearInterval(sampler);
  clearTimeout(limit);
  if (code !== 0) throw new Error(`-n ${parts} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const summary = JSON.parse(stdout) as { ok: boolean; chunks: Array<{ status: string }> };
  const done = summary.chunks.filter((c) => c.status === 'done').length;
  if (!summary.ok || done !== parts) throw new Error(`-n ${parts}: ${done}/${parts} chunks done`);
  return { parts, wallMs, peakTreeMiB: peakKiB / 1024, mostWorkers };
}

const work = mkdtempSync(join(tmpdir(), 'xc-bench-local-run-'));
try {
  console.log(`run png2y4m -f 1 (64x48) with the default local pool, -n ${SMALL} (baseline) and -n ${LARGE}, node ${process.version}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const small = await runParts(work, SMALL);
  const large = await runParts(work, LARGE);
  console.log('| -n | wall (s) | ms per chunk | peak memory, coordinator + workers (MiB) | most workers alive |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const o of [small, large]) {
    console.log(`| ${o.parts} | ${(o.wallMs / 1000).toFixed(1)} | ${(o.wallMs / o.parts).toFixed(1)} | ${o.peakTreeMiB.toFixed(0)} | ${o.mostWorkers} |`);
  }
  console.log(`\n-n ${LARGE} / -n ${SMALL}: ms per chunk ${(large.wallMs / large.parts / (small.wallMs / small.parts)).toFixed(2)}x, peak memory ${(large.peakTreeMiB / small.peakTreeMiB).toFixed(2)}x`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
