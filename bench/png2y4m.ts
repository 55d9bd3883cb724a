/**
 * png2y4m against the C tool, side by side in one run, on the reference sequence
 * (../shared/png2y4m/corpus/seq16: 6 frames, 1024x436 16-bit RGB) and the reference tool's static
 * build (../shared/png2y4m/reference/png2y4m), dither on and off:
 *  - sequence:   one process converts the whole sequence (`png2y4m -o OUT dir/%08d.png`);
 *  - invocation: one process per frame, the mu pattern (`png2y4m -i -d -o OUT dir/%08d.png` with
 *    one frame in dir), all frames appended to one file;
 * ours twice: as it runs (frames decoded ahead in a thread, one per further core) and with
 * XC_PNG2Y4M_THREADS=0 (no decoding thread: the main thread decodes, zlib inflating the next frame on
 * libuv's thread pool meanwhile); plus node's own start-up (`node -e 0`),
 * the floor of any process of ours, and ours printing its usage (`--help`: start-up and loading
 * the tool's modules). The tools alternate within each run (the order rotates between runs) so
 * all see the same machine, and every run checks that all wrote the same bytes. The job itself
 * converts in the worker's thread instead of a process per frame: see bench/worker-frames.ts.
 *
 * Milliseconds per frame, median of RUNS runs, wall and CPU (user + system from /usr/bin/time;
 * on a shared machine CPU is the steadier figure; ours includes V8's compiler and GC threads and
 * the decoding thread). The load average is printed before every run.
 *
 * Run by hand: npm run bench:png2y4m [-- RUNS]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './median.js';
import { ROOT } from './fromDist.js';

const RUNS = Number(process.argv[2] ?? 5);
const OURS = [process.execPath, join(ROOT, 'bin/png2y4m.js')];
const SHARED = resolve(ROOT, '../shared/png2y4m');
const C_TOOL = [join(SHARED, 'reference/png2y4m')];
const SEQUENCE = join(SHARED, 'corpus/seq16');
const TIME = '/usr/bin/time';

interface Sample {
  wall: number;
  cpu: number;
}

type Tool = 'C tool' | 'ours' | 'ours, one thread';
const TOOL_NAMES: Tool[] = ['C tool', 'ours', 'ours, one thread'];
const TOOLS: Record<Tool, { command: string[]; env?: NodeJS.ProcessEnv }> = {
  'C tool': { command: C_TOOL },
  ours: { command: OURS },
  'ours, one thread': { command: OURS, env: { ...process.env, XC_PNG2Y4M_THREADS: '0' } },
};

const medianOf = (samples: Sample[], per = 1): Sample => ({ wall: median(samples.map((s) => s.wall)) / per, cpu: median(samples.map((s) => s.cpu)) / per });

/** Wall and CPU milliseconds of one command; fails loudly when it does. */
function run(command: string[], env?: NodeJS.ProcessEnv): Sample {
  const start = performance.now();
  const result = spawnSync(TIME, ['-f', 'xc-cpu %U %S', ...command], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const wall = performance.now() - start;
  const stderr = result.stderr.toString();
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed (exit ${result.status}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  const match = /xc-cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (!match) throw new Error(`no CPU time in: ${stderr.slice(-200)}`);
  return { wall, cpu: (Number(match[1]) + Number(match[2])) * 1000 };
}

for (const needed of [TIME, C_TOOL[0]!, SEQUENCE, OURS[1]!]) if (!existsSync(needed)) throw new Error(`${needed} is missing (run from the package root, after npm run build)`);
const names = readdirSync(SEQUENCE).filter((name) => name.endsWith('.png')).sort();
const FRAMES = names.length;

const work = mkdtempSync(join(tmpdir(), 'png2y4m-bench-'));
try {
  console.log(`png2y4m vs the C tool: ${SEQUENCE} (${FRAMES} frames), median of ${RUNS} runs, node ${process.version}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const samples = new Map<string, Sample[]>();
  const add = (label: string, sample: Sample): void => {
    samples.set(label, [...(samples.get(label) ?? []), sample]);
  };
  const frameDir = join(work, 'frame');
  for (let r = 0; r < RUNS; r++) {
    console.log(`run ${r + 1}: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    add('node start-up', run([process.execPath, '-e', '0']));
    add('ours --help', run([...OURS, '--help']));
    const order = TOOL_NAMES.map((_, i) => TOOL_NAMES[(i + r) % TOOL_NAMES.length]!);
    for (const [mode, flags] of [['dither', []], ['no-dither', ['--no-dither']]] as const) {
      const outputs = new Map<Tool, Buffer[]>();
      for (const tool of order) {
        const sequence = join(work, `sequence-${tool}.y4m`);
        const { command, env } = TOOLS[tool];
        add(`sequence, ${mode}: ${tool}`, run([...command, ...flags, '-o', sequence, join(SEQUENCE, '%08d.png')], env));
        outputs.set(tool, [readFileSync(sequence)]);
        // One frame per process starts no thread: the threadless variant would repeat ours.
        if (tool === 'ours, one thread') continue;
        const appended = join(work, `invocation-${tool}.y4m`);
        rmSync(appended, { force: true });
        for (const name of names) {
          mkdirSync(frameDir, { recursive: true });
          copyFileSync(join(SEQUENCE, name), join(frameDir, name));
          add(`invocation, ${mode}: ${tool}`, run([...command, '-i', '-d', ...flags, '-o', appended, join(frameDir, '%08d.png')], env));
        }
        outputs.get(tool)!.push(readFileSync(appended));
      }
      const c = outputs.get('C tool')!;
      for (const tool of TOOL_NAMES) {
        if (!outputs.get(tool)!.every((bytes, i) => bytes.equals(c[i]!))) throw new Error(`run ${r + 1}, ${mode}: ${tool}'s output differs from the C tool's`);
      }
    }
  }

  const row = (label: string, sample: Sample): Sample => {
    console.log(`${label.padEnd(48)} ${sample.wall.toFixed(1).padStart(7)} ${sample.cpu.toFixed(1).padStart(7)}`);
    return sample;
  };
  console.log(`\n${'ms per frame (median)'.padEnd(48)} ${'wall'.padStart(7)} ${'cpu'.padStart(7)}`);
  const startup = row('node start-up (per process)', medianOf(samples.get('node start-up')!));
  row('ours --help (per process)', medianOf(samples.get('ours --help')!));
  const figures = new Map<string, Sample>();
  for (const kind of ['sequence', 'invocation'] as const) {
    for (const mode of ['dither', 'no-dither'] as const) {
      for (const tool of TOOL_NAMES) {
        const label = `${kind}, ${mode}: ${tool}`;
        if (!samples.has(label)) continue;
        figures.set(label, row(label, medianOf(samples.get(label)!, kind === 'sequence' ? FRAMES : 1)));
      }
    }
  }
  console.log('\nours / C tool (wall / cpu)');
  for (const kind of ['sequence', 'invocation'] as const) {
    for (const mode of ['dither', 'no-dither'] as const) {
      const c = figures.get(`${kind}, ${mode}: C tool`)!;
      for (const tool of ['ours', 'ours, one thread'] as const) {
        const ours = figures.get(`${kind}, ${mode}: ${tool}`);
        if (!ours) continue;
        console.log(`  ${`${kind}, ${mode}, ${tool}:`.padEnd(40)} ${(ours.wall / c.wall).toFixed(2)}x / ${(ours.cpu / c.cpu).toFixed(2)}x`);
      }
    }
  }
  const cInvocation = figures.get('invocation, no-dither: C tool')!;
  console.log(`  node start-up alone vs a C no-dither invocation: ${(startup.wall / cInvocation.wall).toFixed(2)}x / ${(startup.cpu / cInvocation.cpu).toFixed(2)}x`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
