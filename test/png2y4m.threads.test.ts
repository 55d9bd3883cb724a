/**
 * png2y4m's decoding threads: a frame decoded in a thread is the main thread's, and a sequence
 * decoded ahead in threads gives the single-threaded result in everything the tool shows (output
 * bytes, messages, exit code, inputs deleted), also when it stops at a frame a thread had.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeFrame } from '../png2y4m/frameDecoding.js';
import { THREADS_ENV, busyCores, findFrameThreadEntry, frameThreadCount, startFrameThreads } from '../png2y4m/frameThreads.js';
import { encodePng } from './support/pngEncoder.js';
import { UNPRIVILEGED, UNPRIVILEGED_UNAVAILABLE } from './support/unprivileged.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/png2y4m.js');

function image(width: number, height: number, seed: number): Buffer {
  const pixels = Array.from({ length: width * height }, (_, p) => [(p * seed * 31) % 65536, (p * 977 + seed * 4099) % 65536, (seed * 5003) % 65536]);
  return encodePng({ width, height, bitDepth: 16, colorType: 2, pixels, filter: (row) => row % 5 });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'png2y4m-threads-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a decoding thread', () => {
  it('is found (dist) and decodes a frame exactly as the main thread does', async () => {
    expect(findFrameThreadEntry()?.href).toMatch(/\/dist\/png2y4m\/frameThread\.js$/);
    const shape = { width: 9, height: 7 };
    const threads = startFrameThreads(1);
    try {
      expect(threads?.size).toBe(1);
      const png = image(9, 7, 3);
      const inThread = await threads!.decode(0, 1, png, shape);
      expect(inThread.kind).toBe('decoded');
      expect(inThread).toEqual(decodeFrame(png, shape));
      // A failure comes back as the tool's message, with the warnings before it.
      expect(await threads!.decode(0, 2, Buffer.from('nope'), shape)).toEqual({ kind: 'failed', warnings: [], line: 'Error reading from file.' });
      expect(await threads!.decode(0, 3, image(4, 7, 1), shape)).toMatchObject({ kind: 'mismatch', width: 4, height: 7 });
    } finally {
      await threads?.close();
    }
  });

  it('is found by the bundle bin/png2y4m.js loads: a sequence it converts runs a second thread', () => {
    // Every thread of a process run with --cpu-prof writes a profile of its own.
    const profiles = join(dir, 'profiles');
    const folder = join(dir, 'frames');
    mkdirSync(folder);
    for (let k = 1; k <= 3; k++) writeFileSync(join(folder, `${String(k).padStart(8, '0')}.png`), image(6, 4, k));
    const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profiles, BIN, '-o', join(dir, 'out.y4m'), join(folder, '%08d.png')], {
      env: { ...process.env, [THREADS_ENV]: '1' },
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    expect(readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile'))).toHaveLength(2);
  });

  it('starts one per core other tasks leave idle unless told how many, never more than the frames after the first', () => {
    const cores = availableParallelism();
    expect(frameThreadCount(6, undefined, 0)).toBe(Math.min(cores - 1, 3));
    expect(frameThreadCount(6, undefined, cores - 1)).toBe(0);
    expect(frameThreadCount(6, undefined, cores + 4)).toBe(0);
    expect(frameThreadCount(6, '0', 0)).toBe(0);
    expect(frameThreadCount(6, '2', cores + 4)).toBe(2);
    expect(frameThreadCount(2, '2')).toBe(1);
    expect(frameThreadCount(1, undefined, 0)).toBe(0);
    expect(frameThreadCount(100, '99')).toBe(3);
    expect(frameThreadCount(6, 'many', 0)).toBe(Math.min(cores - 1, 3));
  });

  it('counts the other tasks runnable now, the 1-minute load only where the kernel does not say', () => {
    // Ours and the C tool just ran: the minute's average is high, but only this task runs now.
    expect(busyCores('2.95 2.61 1.20 1/79 3794\n', 2.95)).toBe(0);
    expect(busyCores('0.00 0.01 0.05 12/1033 77\n', 0)).toBe(11);
    expect(busyCores('0.40 0.20 0.10 0/80 9\n', 0.4)).toBe(0);
    expect(busyCores(undefined, 2.95)).toBe(2);
    expect(busyCores(undefined, 1.2)).toBe(0);
    expect(busyCores('garbage', 3.7)).toBe(3);
  });
});

interface Result {
  status: number | null;
  stderr: string;
  output: Buffer | null;
  left: string[];
}

/** Run png2y4m over `pngs` (null: an unopenable file) in a fresh folder with `threads` frame threads. */
function convert(pngs: (Buffer | null)[], args: string[], threads: number): Result {
  const work = join(dir, `threads-${threads}`);
  const folder = join(work, 'frames');
  mkdirSync(folder, { recursive: true });
  const unprivileged = pngs.includes(null);
  // The unprivileged run writes its output and deletes its inputs here.
  if (unprivileged) for (const open of [work, folder]) chmodSync(open, 0o777);
  pngs.forEach((png, k) => {
    const path = join(folder, `${String(k + 1).padStart(8, '0')}.png`);
    writeFileSync(path, png ?? 'closed');
    if (png === null) chmodSync(path, 0);
  });
  const out = join(work, 'out.y4m');
  const run = spawnSync(process.execPath, [BIN, ...args, '-o', out, join(folder, '%08d.png')], {
    env: { ...process.env, [THREADS_ENV]: String(threads) },
    timeout: 60_000,
    ...(unprivileged ? UNPRIVILEGED : {}),
  });
  let output: Buffer | null = null;
  try {
    output = readFileSync(out);
  } catch {
    // not created
  }
  // Paths differ between the runs only in the folder's name.
  return { status: run.status, stderr: run.stderr.toString('latin1').replaceAll(work, 'WORK'), output, left: readdirSync(folder) };
}

describe('a sequence decoded ahead in threads', () => {
  const seq = (n: number, width = 10, height = 6): Buffer[] => Array.from({ length: n }, (_, k) => image(width, height, k + 1));

  it.each([
    ['dither', []],
    ['no dither, 4:4:4', ['--no-dither', '--chroma-444']],
  ])('gives the single-threaded bytes and messages (%s)', (_what, flags) => {
    const single = convert(seq(7), flags, 0);
    expect(single.status).toBe(0);
    expect(single.stderr.split('\n')[0]).toBe('7 frames, 10x6');
    for (const threads of [1, 2]) expect(convert(seq(7), flags, threads)).toEqual(single);
  });

  it.each([1, 2, 3, 4])('stops at a bad frame %i as without threads, deleting up to it with -d', (bad) => {
    const pngs: Buffer[] = seq(6);
    pngs[bad] = Buffer.from('not a png');
    const single = convert(pngs, ['-d'], 0);
    expect(single).toMatchObject({ status: 1, left: seq(6).slice(bad + 1).map((_, k) => `${String(bad + k + 2).padStart(8, '0')}.png`) });
    expect(single.stderr.trim().split('\n').at(-1)).toBe('Error: Not a PNG.');
    expect(single.output?.length).toBe('YUV4MPEG2 W10 H6 F24:1 Ip A0:0 C420jpeg\n'.length + bad * (6 + 60 + 2 * 15));
    for (const threads of [1, 2]) expect(convert(pngs, ['-d'], threads)).toEqual(single);
  });

  it('stops at a size mismatch on a frame decoded ahead as without threads', () => {
    const pngs = seq(5);
    pngs[3] = image(8, 6, 9);
    const single = convert(pngs, [], 0);
    expect(single.stderr.trim().split('\n').at(-1)).toBe('Input size 8x6 does not match 10x6');
    for (const threads of [1, 2]) expect(convert(pngs, [], threads)).toEqual(single);
  });

  it('reports an input it may not open at its turn, not when it is read ahead', ({ skip }) => {
    skip(UNPRIVILEGED === undefined, UNPRIVILEGED_UNAVAILABLE);
    chmodSync(dir, 0o755);
    const pngs: (Buffer | null)[] = seq(5);
    pngs[3] = null;
    const single = convert(pngs, ['-d'], 0);
    expect(single.stderr.trim().split('\n').at(-1)).toBe('Error opening "WORK/frames/00000004.png": Permission denied');
    expect(single.left).toEqual(['00000005.png']);
    for (const threads of [1, 2]) expect(convert(pngs, ['-d'], threads)).toEqual(single);
  });
});
