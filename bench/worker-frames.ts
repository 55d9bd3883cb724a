/**
 * What one frame of the png2y4m job costs a worker: the job's per-frame command
 * (`png2y4m -i -d -o OUT IN`, one frame appended per `run:`) served by the worker's command
 * interpreter, exactly as a worker serves it,
 *  - in-process: converted in the worker's png2y4m thread (worker/builtinTools.ts);
 *  - process:    through `/bin/sh` and our shim, one Node process per frame (as before, and as
 *                with `XC_PNG2Y4M_INPROCESS=0`);
 *  - C tool:     through `/bin/sh`, the reference tool's static build
 *                (../shared/png2y4m/reference/png2y4m), one process per frame, as mu's workers ran it;
 * on the reference frames (../shared/png2y4m/corpus/seq16, 1024x436 16-bit, cycled to FRAMES), the
 * three ways alternating within each run (the order rotates between runs).
 *
 * Wall and CPU milliseconds per frame. In-process CPU is the whole benchmark process (main thread
 * plus the converter thread, V8's helpers included). Process CPU (ours and the C tool's) is the
 * png2y4m process's (from `/usr/bin/time`, which prefixes the command) plus what the worker spent
 * spawning it. First frames (thread start, cold code, dither plan) are reported apart from the
 * steady ones. Every run checks that all three ways produced the same Y4M bytes.
 *
 * Run by hand: npm run bench:worker-frames [-- FRAMES RUNS]
 */
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pathWithBin, writeToolShims } from '../worker/binDir.js';
import { createBuiltinTools, IN_PROCESS_ENV } from '../worker/builtinTools.js';
import { createInterpreter } from '../worker/commands.js';
import { median } from './median.js';
import { ROOT } from './fromDist.js';

const FRAMES = Number(process.argv[2] ?? 12);
const RUNS = Number(process.argv[3] ?? 3);
const BIN = join(ROOT, 'bin');
const THREAD_ENTRY = pathToFileURL(join(ROOT, 'dist/worker/png2y4mThread.js'));
const TIME = '/usr/bin/time';
const SHARED = resolve(ROOT, '../shared/png2y4m');
const C_TOOL = join(SHARED, 'reference/png2y4m');
const SEQUENCE = join(SHARED, 'corpus/seq16');

interface Sample {
  wall: number;
  cpu: number;
}

type Mode = 'in-process' | 'process' | 'C tool';
const MODES: Mode[] = ['in-process', 'process', 'C tool'];

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

/** One worker-like temp dir converting FRAMES frames, one `run:` each; per-frame samples and the output. */
async function convertSequence(mode: Mode, sources: string[]): Promise<{ samples: Sample[]; y4m: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), `xc-bench-frames-${mode.replace(' ', '-')}-`));
  try {
    const shimDir = join(dir, '.xc-bin');
    await mkdir(shimDir);
    await writeToolShims(BIN, shimDir);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithBin([shimDir, BIN], process.env.PATH) };
    delete env[IN_PROCESS_ENV];
    const tools = mode === 'in-process' ? createBuiltinTools({ png2y4mPath: join(shimDir, 'png2y4m'), threadEntry: THREAD_ENTRY }) : undefined;
    let last = '';
    const interpreter = createInterpreter({ event: {}, tmpDir: dir, env, onAnswer: (text) => (last = text), ...(tools ? { builtinTools: tools } : {}) });
    const samples: Sample[] = [];
    try {
      for (let k = 0; k < sources.length; k++) {
        const input = `${String(k + 1).padStart(8, '0')}.png`;
        await copyFile(sources[k]!, join(dir, input));
        const command = `png2y4m -i -d -o ##TMPDIR##/out.y4m ##TMPDIR##/${input}`;
        const timed = mode === 'process' ? `${TIME} -f 'xc-cpu %U %S' ${command}` : mode === 'C tool' ? `${TIME} -f 'xc-cpu %U %S' ${C_TOOL}${command.slice('png2y4m'.length)}` : command;
        const cpu0 = process.cpuUsage();
        const start = performance.now();
        interpreter.handle(`run:${timed}`);
        await interpreter.settled();
        const wall = performance.now() - start;
        let cpu = cpuMs(process.cpuUsage(cpu0));
        if (!last.startsWith('OK:RETVAL(0)')) throw new Error(`${mode} frame ${k + 1} failed: ${last.slice(0, 300)}`);
        if (mode !== 'in-process') {
          const match = /xc-cpu ([\d.]+) ([\d.]+)/.exec(last);
          if (!match) throw new Error(`no CPU time in ${last.slice(0, 300)}`);
          cpu += (Number(match[1]) + Number(match[2])) * 1000;
        }
        samples.push({ wall, cpu });
      }
      if (mode === 'in-process' && tools!.status().served !== sources.length) throw new Error('frames were not served in-process');
    } finally {
      await interpreter.close();
    }
    return { samples, y4m: await readFile(join(dir, 'out.y4m')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (!existsSync(TIME)) throw new Error(`${TIME} is needed to measure the CPU time of processes`);
if (!existsSync(THREAD_ENTRY)) throw new Error('run `npm run build` first: the thread and the shim run dist/');
if (!existsSync(C_TOOL)) throw new Error(`${C_TOOL} is missing: the C tool runs beside ours`);

const work = await mkdtemp(join(tmpdir(), 'xc-bench-frames-'));
try {
  const reference = readdirSync(SEQUENCE).filter((name) => name.endsWith('.png')).sort();
  const sources = Array.from({ length: FRAMES }, (_, k) => join(SEQUENCE, reference[k % reference.length]!));
  console.log(`worker frames: ${FRAMES} frames of ${SEQUENCE} per run, ${RUNS} runs, \`png2y4m -i -d -o OUT IN\` per frame, node ${process.version}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

  const first: Record<Mode, Sample[]> = { 'in-process': [], process: [], 'C tool': [] };
  const steady: Record<Mode, Sample[]> = { 'in-process': [], process: [], 'C tool': [] };
  for (let r = 0; r < RUNS; r++) {
    const outputs: Buffer[] = [];
    // Rotate the order between runs, so no way always runs on a warmer (or busier) machine.
    for (const mode of [...MODES.slice(r % 3), ...MODES.slice(0, r % 3)]) {
      const { samples, y4m } = await convertSequence(mode, sources);
      first[mode].push(samples[0]!);
      steady[mode].push(...samples.slice(1));
      outputs.push(y4m);
    }
    if (!outputs.every((y4m) => y4m.equals(outputs[0]!))) throw new Error(`run ${r + 1}: the three ways wrote different bytes`);
  }

  const row = (label: string, samples: Sample[]): Sample => {
    const sample = { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
    console.log(`${label.padEnd(46)} ${sample.wall.toFixed(1).padStart(7)} ${sample.cpu.toFixed(1).padStart(7)}`);
    return sample;
  };
  console.log(`${'ms per frame (median)'.padEnd(46)} ${'wall'.padStart(7)} ${'cpu'.padStart(7)}`);
  const processFirst = row('process per frame: first frame', first.process);
  const processSteady = row('process per frame: later frames', steady.process);
  const inFirst = row('in-process: first frame (thread start, cold)', first['in-process']);
  const inSteady = row('in-process: later frames', steady['in-process']);
  row('C tool, process per frame: first frame', first['C tool']);
  const cSteady = row('C tool, process per frame: later frames', steady['C tool']);
  console.log('\nratios (wall / cpu)');
  const ratio = (a: Sample, b: Sample): string => `${(a.wall / b.wall).toFixed(2)}x / ${(a.cpu / b.cpu).toFixed(2)}x`;
  console.log(`  in-process later frames vs C tool: ${ratio(inSteady, cSteady)}; process per frame vs C tool: ${ratio(processSteady, cSteady)}`);
  console.log(`  process per frame / in-process: ${(processSteady.cpu / inSteady.cpu).toFixed(2)}x cpu, ${(processSteady.wall / inSteady.wall).toFixed(2)}x wall`);
  console.log(`  first in-process frame: ${(inFirst.cpu / inSteady.cpu).toFixed(2)}x a later one; first process frame ${(processFirst.cpu / processSteady.cpu).toFixed(2)}x`);
} finally {
  await rm(work, { recursive: true, force: true });
}
