/**
 * png2y4m speed on the job's real workload: 1024x436 16-bit RGB frames, generated here with the
 * test PNG encoder (smooth gradients plus noise, so they compress like camera frames).
 *
 * Prints milliseconds per frame, median of several runs, dither on and off, for
 *  - sequence:   one process converts the whole sequence (`png2y4m -o OUT dir/%08d.png`);
 *  - invocation: one process per frame, as mu's workers run it (`png2y4m -i -d -o OUT IN`);
 * and, measured in the same run as baselines: node start-up (`node -e 0`), a bare zlib inflate of
 * each frame's image data, and decoding alone (our PNG decoder, in process).
 *
 * Run by hand: npm run bench:png2y4m [-- FRAMES RUNS]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { decodePng } from '../png2y4m/decodePng.js';
import { encodePng } from '../test/support/pngEncoder.js';

const WIDTH = 1024;
const HEIGHT = 436;
const FRAMES = Number(process.argv[2] ?? 6);
const RUNS = Number(process.argv[3] ?? 5);
const BIN = join(process.cwd(), 'bin/png2y4m.js');
/** The C tool on this kind of machine, from issue 3 (not measured here). */
const C_TOOL_MS = { dither: 77, noDither: 45 };

function frame(seed: number): Buffer {
  let state = seed * 2654435761;
  const noise = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % 1024;
  };
  const pixels: number[][] = new Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const r = (x * 64 + seed * 500 + noise()) % 65536;
      const g = (y * 150 + x * 20 + noise()) % 65536;
      const b = (32768 + Math.round(20000 * Math.sin((x + y + seed * 10) / 60)) + noise()) % 65536;
      pixels[y * WIDTH + x] = [r, g, b];
    }
  }
  return encodePng({ width: WIDTH, height: HEIGHT, bitDepth: 16, colorType: 2, pixels, filter: 4 });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function timeMs(action: () => void): number {
  const start = performance.now();
  action();
  return performance.now() - start;
}

function run(args: string[]): void {
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr.toString()}`);
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
  pngs.forEach((png, k) => writeFileSync(join(source, `${String(k + 1).padStart(8, '0')}.png`), png));
  const names = pngs.map((_, k) => `${String(k + 1).padStart(8, '0')}.png`);

  const results: [string, number][] = [];
  const record = (label: string, ms: number): void => {
    results.push([label, ms]);
    console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms`);
  };
  console.log(`png2y4m benchmark: ${FRAMES} frames ${WIDTH}x${HEIGHT} 16-bit RGB, median of ${RUNS} runs`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

  record('baseline: node start-up (node -e 0)', median(Array.from({ length: RUNS }, () => timeMs(() => run(['-e', '0'])))));
  const idats = pngs.map(idatOf);
  record('baseline: zlib inflate, per frame', median(Array.from({ length: RUNS }, () => timeMs(() => idats.forEach((z) => inflateSync(z))) / FRAMES)));
  record('baseline: our PNG decode, per frame', median(Array.from({ length: RUNS }, () => timeMs(() => pngs.forEach((p) => decodePng(p, () => {}))) / FRAMES)));

  for (const [mode, flags] of [['dither', []], ['no-dither', ['--no-dither']]] as const) {
    const out = join(work, 'out.y4m');
    const sequence = Array.from({ length: RUNS }, () => timeMs(() => run([BIN, ...flags, '-o', out, join(source, '%08d.png')])) / FRAMES);
    record(`sequence, ${mode}: ms per frame`, median(sequence));
    const frameDir = join(work, 'frame');
    const invocation: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      rmSync(out, { force: true });
      for (const name of names) {
        mkdirSync(frameDir, { recursive: true });
        copyFileSync(join(source, name), join(frameDir, name));
        invocation.push(timeMs(() => run([BIN, '-i', '-d', ...flags, '-o', out, join(frameDir, '%08d.png')])));
      }
    }
    record(`invocation (-i -d, one frame), ${mode}`, median(invocation));
  }

  const get = (label: string): number => results.find(([l]) => l.startsWith(label))![1];
  const startup = get('baseline: node start-up');
  console.log('\nratios');
  for (const mode of ['dither', 'no-dither'] as const) {
    const c = mode === 'dither' ? C_TOOL_MS.dither : C_TOOL_MS.noDither;
    const seq = get(`sequence, ${mode}`);
    const inv = get(`invocation (-i -d, one frame), ${mode}`);
    console.log(`  ${mode}: sequence/C ${(seq / c).toFixed(2)}x, invocation/C ${(inv / c).toFixed(2)}x, invocation minus node start-up/C ${((inv - startup) / c).toFixed(2)}x`);
  }
  const inflate = get('baseline: zlib inflate');
  console.log(`  decode / bare inflate: ${(get('baseline: our PNG decode') / inflate).toFixed(2)}x; sequence (dither) / bare inflate: ${(get('sequence, dither') / inflate).toFixed(2)}x`);
  console.log(`  (C reference from issue 3: ${C_TOOL_MS.dither} ms dither, ${C_TOOL_MS.noDither} ms --no-dither per frame)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
