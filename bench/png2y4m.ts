/**
 * png2y4m speed on the job's real workload: 1024x436 16-bit RGB frames, generated here with the
 * test PNG encoder like the reference sequence (../shared/png2y4m/corpus/seq16): gradients plus
 * noise in the low bits, so they barely compress (about 89%), and filter types 0-4 in turn.
 *
 * Prints milliseconds per frame, median of several runs, dither on and off, for
 *  - sequence:   one process converts the whole sequence (`png2y4m -o OUT dir/%08d.png`);
 *  - invocation: one process per frame, as mu's workers run it (`png2y4m -i -d -o OUT IN`);
 * and, measured in the same run as baselines: node start-up (`node -e 0`), a bare zlib inflate of
 * each frame's image data, and decoding alone (our PNG decoder, in process).
 *
 * Each figure is given as wall-clock time and as CPU time (user + system, from /usr/bin/time for
 * child processes, process.cpuUsage in process): on a shared machine the CPU figure is the stable
 * one. CPU time includes V8's background compiler and GC threads.
 *
 * Run by hand: npm run bench:png2y4m [-- FRAMES RUNS]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { decodePng } from '../png2y4m/decodePng.js';
import { jobFrame as frame, JOB_FRAME_HEIGHT as HEIGHT, JOB_FRAME_WIDTH as WIDTH } from '../test/support/jobFrame.js';

const FRAMES = Number(process.argv[2] ?? 6);
const RUNS = Number(process.argv[3] ?? 5);
const BIN = join(process.cwd(), 'bin/png2y4m.js');
/** The C tool on this kind of machine, from issue 3 (not measured here). */
const C_TOOL_MS = { dither: 77, noDither: 45 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Sample {
  wall: number;
  cpu: number;
}

const TIME = '/usr/bin/time';
const haveTime = existsSync(TIME);

/** Wall and CPU milliseconds of an in-process action. */
function measure(action: () => void): Sample {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  action();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Wall and CPU milliseconds of `node ARGS` (CPU NaN without /usr/bin/time). */
function run(args: string[]): Sample {
  const command = haveTime ? [TIME, '-f', 'cpu %U %S', process.execPath, ...args] : [process.execPath, ...args];
  const start = performance.now();
  const result = spawnSync(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = performance.now() - start;
  const stderr = result.stderr.toString();
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${stderr}`);
  const match = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  return { wall, cpu: match ? (Number(match[1]) + Number(match[2])) * 1000 : NaN };
}

function medianOf(samples: Sample[], per = 1): Sample {
  return { wall: median(samples.map((s) => s.wall)) / per, cpu: median(samples.map((s) => s.cpu)) / per };
}

function idatOf(png: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') parts.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  return Buffer.concat(parts);
}

const work = mkdtempSync(join(tmpdir(), 'png2y4m-bench-'));
try {
  const source = join(work, 'source');
  mkdirSync(source);
  const pngs = Array.from({ length: FRAMES }, (_, k) => frame(k + 1));
  const rawBytes = HEIGHT * (WIDTH * 6 + 1);
  pngs.forEach((png, k) => writeFileSync(join(source, `${String(k + 1).padStart(8, '0')}.png`), png));
  const names = pngs.map((_, k) => `${String(k + 1).padStart(8, '0')}.png`);

  const results = new Map<string, Sample>();
  const record = (label: string, sample: Sample): void => {
    results.set(label, sample);
    console.log(`${label.padEnd(42)} ${sample.wall.toFixed(1).padStart(7)} ${sample.cpu.toFixed(1).padStart(7)}`);
  };
  console.log(`png2y4m benchmark: ${FRAMES} frames ${WIDTH}x${HEIGHT} 16-bit RGB, median of ${RUNS} runs, node ${process.version}`);
  console.log(`frames compress to ${((100 * pngs[0]!.length) / rawBytes).toFixed(0)}% of their raw size`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log(`${'ms'.padEnd(42)} ${'wall'.padStart(7)} ${'cpu'.padStart(7)}`);

  record('baseline: node start-up (node -e 0)', medianOf(Array.from({ length: RUNS }, () => run(['-e', '0']))));
  const idats = pngs.map(idatOf);
  record('baseline: zlib inflate, per frame', medianOf(Array.from({ length: RUNS }, () => measure(() => idats.forEach((z) => inflateSync(z)))), FRAMES));
  record('baseline: our PNG decode, per frame', medianOf(Array.from({ length: RUNS }, () => measure(() => pngs.forEach((p) => decodePng(p, () => {})))), FRAMES));

  for (const [mode, flags] of [['dither', []], ['no-dither', ['--no-dither']]] as const) {
    const out = join(work, 'out.y4m');
    record(`sequence, ${mode}: per frame`, medianOf(Array.from({ length: RUNS }, () => run([BIN, ...flags, '-o', out, join(source, '%08d.png')])), FRAMES));
    const frameDir = join(work, 'frame');
    const invocation: Sample[] = [];
    for (let r = 0; r < RUNS; r++) {
      rmSync(out, { force: true });
      for (const name of names) {
        mkdirSync(frameDir, { recursive: true });
        copyFileSync(join(source, name), join(frameDir, name));
        invocation.push(run([BIN, '-i', '-d', ...flags, '-o', out, join(frameDir, '%08d.png')]));
      }
    }
    record(`invocation (-i -d, one frame), ${mode}`, medianOf(invocation));
  }

  const get = (label: string): Sample => [...results].find(([l]) => l.startsWith(label))![1];
  const startup = get('baseline: node start-up');
  const inflate = get('baseline: zlib inflate');
  console.log('\nratios (wall / cpu)');
  const pair = (a: Sample, b: Sample | number, minus?: Sample): string => {
    const [bw, bc] = typeof b === 'number' ? [b, b] : [b.wall, b.cpu];
    const [mw, mc] = minus ? [minus.wall, minus.cpu] : [0, 0];
    return `${((a.wall - mw) / bw).toFixed(2)}x / ${((a.cpu - mc) / bc).toFixed(2)}x`;
  };
  for (const mode of ['dither', 'no-dither'] as const) {
    const c = mode === 'dither' ? C_TOOL_MS.dither : C_TOOL_MS.noDither;
    const seq = get(`sequence, ${mode}`);
    const inv = get(`invocation (-i -d, one frame), ${mode}`);
    console.log(`  ${mode}: sequence vs C ${pair(seq, c)}; invocation vs C ${pair(inv, c)}; invocation minus node start-up vs C ${pair(inv, c, startup)}`);
  }
  console.log(`  our decode vs bare inflate ${pair(get('baseline: our PNG decode'), inflate)}`);
  console.log(`  C reference (issue 3, not measured here): ${C_TOOL_MS.dither} ms/frame dither, ${C_TOOL_MS.noDither} ms --no-dither`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
