/**
 * What one frame of the png2y4m job costs a worker: the job's per-frame command
 * (`png2y4m -i -d -o OUT IN`, one frame appended per `run:`) served by the worker's command
 * interpreter, exactly as a worker serves it,
 *  - in-process: converted in the worker's png2y4m thread (worker/builtinTools.ts);
 *  - process:    through `/bin/sh` and our shim, one Node process per frame (as before, and as
 *                with `XC_PNG2Y4M_INPROCESS=0`);
 * against the C tool's figure (77 ms/frame with dither, issue 3; not run here).
 *
 * Wall and CPU milliseconds per frame. In-process CPU is the whole benchmark process (main thread
 * plus the converter thread, V8's helpers included). Process CPU is the png2y4m process's (from
 * `/usr/bin/time`, which prefixes the command) plus what the worker spent spawning it. The first
 * in-process frame (thread start, cold code, dither plan) is reported apart from the steady ones.
 * Every run checks that both ways produced the same Y4M bytes.
 *
 * Run by hand: npm run bench:worker-frames [-- FRAMES RUNS]
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pathWithBin, writeToolShims } from '../worker/binDir.js';
import { createBuiltinTools, IN_PROCESS_ENV } from '../worker/builtinTools.js';
import { createInterpreter } from '../worker/commands.js';
import { jobFrame, JOB_FRAME_HEIGHT, JOB_FRAME_WIDTH } from '../test/support/jobFrame.js';

const FRAMES = Number(process.argv[2] ?? 12);
const RUNS = Number(process.argv[3] ?? 3);
const ROOT = process.cwd();
const BIN = join(ROOT, 'bin');
const THREAD_ENTRY = pathToFileURL(join(ROOT, 'dist/worker/png2y4mThread.js'));
const TIME = '/usr/bin/time';
/** The C tool on this kind of machine, from issue 3 (not measured here). */
const C_TOOL_MS = 77;

interface Sample {
  wall: number;
  cpu: number;
}

type Mode = 'in-process' | 'process';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

/** One worker-like temp dir converting FRAMES frames, one `run:` each; per-frame samples and the output. */
async function convertSequence(mode: Mode, sources: string[]): Promise<{ samples: Sample[]; y4m: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), `xc-bench-frames-${mode}-`));
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
        const timed = mode === 'process' ? `${TIME} -f 'xc-cpu %U %S' ${command}` : command;
        const cpu0 = process.cpuUsage();
        const start = performance.now();
        interpreter.handle(`run:${timed}`);
        await interpreter.settled();
        const wall = performance.now() - start;
        let cpu = cpuMs(process.cpuUsage(cpu0));
        if (!last.startsWith('OK:RETVAL(0)')) throw new Error(`${mode} frame ${k + 1} failed: ${last.slice(0, 300)}`);
        if (mode === 'process') {
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

const work = await mkdtemp(join(tmpdir(), 'xc-bench-frames-'));
try {
  const sources: string[] = [];
  for (let k = 0; k < FRAMES; k++) {
    const file = join(work, `source-${k + 1}.png`);
    await writeFile(file, jobFrame(k + 1));
    sources.push(file);
  }
  console.log(`worker frames: ${FRAMES} frames ${JOB_FRAME_WIDTH}x${JOB_FRAME_HEIGHT} 16-bit RGB per run, ${RUNS} runs, \`png2y4m -i -d -o OUT IN\` per frame, node ${process.version}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

  const first: Record<Mode, Sample[]> = { 'in-process': [], process: [] };
  const steady: Record<Mode, Sample[]> = { 'in-process': [], process: [] };
  for (let r = 0; r < RUNS; r++) {
    const outputs: Buffer[] = [];
    // Alternate the order between runs, so neither way always runs on a warmer (or busier) machine.
    for (const mode of (r % 2 === 0 ? ['in-process', 'process'] : ['process', 'in-process']) as Mode[]) {
      const { samples, y4m } = await convertSequence(mode, sources);
      first[mode].push(samples[0]!);
      steady[mode].push(...samples.slice(1));
      outputs.push(y4m);
    }
    if (!outputs[0]!.equals(outputs[1]!)) throw new Error(`run ${r + 1}: in-process and process outputs differ`);
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
  console.log(`${`C tool (issue 3, not measured here)`.padEnd(46)} ${''.padStart(7)} ${C_TOOL_MS.toFixed(1).padStart(7)}`);
  console.log('\nratios (cpu)');
  console.log(`  in-process later frames vs C: ${(inSteady.cpu / C_TOOL_MS).toFixed(2)}x; process per frame vs C: ${(processSteady.cpu / C_TOOL_MS).toFixed(2)}x`);
  console.log(`  process per frame / in-process: ${(processSteady.cpu / inSteady.cpu).toFixed(2)}x cpu, ${(processSteady.wall / inSteady.wall).toFixed(2)}x wall`);
  console.log(`  first in-process frame: ${(inFirst.cpu / inSteady.cpu).toFixed(2)}x a later one; first process frame ${(processFirst.cpu / processSteady.cpu).toFixed(2)}x`);
} finally {
  await rm(work, { recursive: true, force: true });
}
