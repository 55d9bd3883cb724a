/**
 * ExCamera's chain against one vpxenc, on the same synthetic clip in the same run: the baseline is
 * one `vpxenc` over the whole clip (ExCamera's options, one key frame); the chain is N workers
 * (in process, as in test/xcencChain.test.ts; their vpxenc/xc-dump/xc-enc are processes) driven by
 * the xcenc machine over TLS with the embedded relay, its chunks joined with `ivf join`.
 *
 * Prints wall time and CPU (user + system of the run and every process it waited for, from
 * /usr/bin/time), bytes, and luma PSNR of each decoded stream (vpxdec) against the input Y4M.
 *
 * Run by hand: npm run bench:xcenc [-- CHUNKS K WIDTH HEIGHT]   (default 8 8 1024 436, 6 frames a chunk)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { joinIvf } from '../runtime/video/ivf.js';
import { runXcencChain } from '../test/support/xcencChain.js';

const FRAMES = 6;
const QUALITY = 30;
const PATH = [resolve('../shared/excamera/bin'), process.env.PATH ?? ''].join(delimiter);
const VPXENC_ARGS = (quality: number) =>
  `--ivf -q --codec=vp8 --good --cpu-used=0 --end-usage=cq --min-q=0 --max-q=63 --cq-level=${quality} --buf-initial-sz=10000 --buf-optimal-sz=20000 --buf-sz=40000 --undershoot-pct=100 --passes=2 --auto-alt-ref=1 --threads=1 --token-parts=0 --tune=ssim --target-bitrate=4294967295`.split(' ');

interface Timed {
  wallS: number;
  cpuS: number;
  stdout: string;
}

/** Run a command under /usr/bin/time: wall and CPU of it and all it waited for. */
function timed(command: string, args: readonly string[]): Promise<Timed> {
  return new Promise((done, fail) => {
    const child = spawn('/usr/bin/time', ['-f', 'XCTIME %e %U %S', command, ...args], { env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const match = /XCTIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !match) return fail(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim().slice(-500)}`));
      done({ wallS: Number(match[1]), cpuS: Number(match[2]) + Number(match[3]), stdout });
    });
  });
}

/** The luma planes of a Y4M (4:2:0) file's frames, concatenated. */
function y4mLuma(bytes: Buffer, width: number, height: number): Buffer {
  const header = bytes.indexOf(0x0a);
  const frameBytes = (width * height * 3) / 2;
  const planes: Buffer[] = [];
  let offset = header + 1;
  while (offset < bytes.byteLength) {
    offset = bytes.indexOf(0x0a, offset) + 1; // FRAME line
    planes.push(bytes.subarray(offset, offset + width * height));
    offset += frameBytes;
  }
  return Buffer.concat(planes);
}

/** The luma planes of raw I420 frames (vpxdec --i420). */
function i420Luma(bytes: Buffer, width: number, height: number): Buffer {
  const frameBytes = (width * height * 3) / 2;
  const planes: Buffer[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += frameBytes) planes.push(bytes.subarray(offset, offset + width * height));
  return Buffer.concat(planes);
}

function psnr(reference: Buffer, decoded: Buffer): number {
  if (reference.byteLength !== decoded.byteLength) throw new Error(`decoded ${decoded.byteLength} luma bytes, the input has ${reference.byteLength}`);
  let sum = 0;
  for (let i = 0; i < reference.byteLength; i++) {
    const d = reference[i]! - decoded[i]!;
    sum += d * d;
  }
  const mse = sum / reference.byteLength;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** The chain alone, in this process (run under /usr/bin/time by the main run). */
async function chainChild(dir: string, chunks: number, groupSize: number): Promise<void> {
  const inputs = Array.from({ length: chunks }, (_, c) => readFileSync(join(dir, 'y4m', `${c}.y4m`)));
  const result = await runXcencChain({ dir: join(dir, 'chain'), chunks: inputs, groupSize, quality: QUALITY, path: PATH, timeoutMs: 600_000 });
  const failed = result.outcomes.flatMap((o, c) => (o.status === 'failed' ? [`chunk ${c}: ${o.reason}`] : []));
  if (failed.length > 0) throw new Error(failed.join('; '));
  writeFileSync(join(dir, 'chain.ivf'), joinIvf(result.outputs.map((bytes, c) => ({ name: `${c}.ivf`, bytes: bytes! }))));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--chain') return chainChild(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
  const [chunks = 8, groupSize = chunks, width = 1024, height = 436] = process.argv.slice(2).map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'xc-bench-xcenc-'));
  try {
    mkdirSync(join(dir, 'png'));
    mkdirSync(join(dir, 'y4m'));
    for (let f = 0; f < chunks * FRAMES; f++) writeFileSync(join(dir, 'png', `${String(f + 1).padStart(8, '0')}.png`), syntheticFrame(f, width, height));
    await timed(process.execPath, [resolve('bin/png2y4m.js'), '-o', join(dir, 'whole.y4m'), join(dir, 'png', '%08d.png')]);
    // The chunks are byte ranges of the whole clip: its header, then 6 frames each.
    const whole = readFileSync(join(dir, 'whole.y4m'));
    const header = whole.subarray(0, whole.indexOf(0x0a) + 1);
    const frameBytes = 'FRAME\n'.length + (width * height * 3) / 2;
    for (let c = 0; c < chunks; c++) {
      const start = header.byteLength + c * FRAMES * frameBytes;
      writeFileSync(join(dir, 'y4m', `${c}.y4m`), Buffer.concat([header, whole.subarray(start, start + FRAMES * frameBytes)]));
    }

    const baseline = await timed('vpxenc', [...VPXENC_ARGS(QUALITY), '-o', join(dir, 'whole.ivf'), join(dir, 'whole.y4m')]);
    const chain = await timed(process.execPath, [process.argv[1]!, '--chain', dir, String(chunks), String(groupSize)]);

    const reference = y4mLuma(whole, width, height);
    const rows = [];
    for (const [name, run, ivf] of [['one vpxenc (baseline)', baseline, 'whole.ivf'], [`xcenc chain, ${chunks} workers, K = ${groupSize}`, chain, 'chain.ivf']] as const) {
      await timed('vpxdec', ['--i420', '-o', join(dir, `${ivf}.yuv`), join(dir, ivf)]);
      const bytes = readFileSync(join(dir, ivf)).byteLength;
      rows.push({ name, ...run, bytes, psnr: psnr(reference, i420Luma(readFileSync(join(dir, `${ivf}.yuv`)), width, height)) });
    }
    const [base] = rows;
    console.log(`xcenc bench: ${chunks * FRAMES} frames ${width}x${height}, ${chunks} chunks of ${FRAMES}, K = ${groupSize}, cq-level ${QUALITY}; ${cpus().length} CPUs, node ${process.version}\n`);
    console.log('| run | wall (s) | CPU (s) | bytes | luma PSNR (dB) | wall / baseline | CPU / baseline | bytes / baseline |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(
        `| ${row.name} | ${row.wallS.toFixed(2)} | ${row.cpuS.toFixed(2)} | ${row.bytes} | ${row.psnr.toFixed(2)} | ${(row.wallS / base!.wallS).toFixed(2)} | ${(row.cpuS / base!.cpuS).toFixed(2)} | ${(row.bytes / base!.bytes).toFixed(2)} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench:xcenc: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
