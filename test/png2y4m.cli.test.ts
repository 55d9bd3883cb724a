/**
 * The png2y4m command as a process: error messages and exit codes, what is left in the output
 * file after a failure, `-d` deletion order, `-i` headers (the mu per-frame pattern), stdin and
 * stdout, and write failures. Never a stack trace.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodePng } from './support/pngEncoder.js';
import { useTempDirs } from './support/tempDirs.js';
import { UNPRIVILEGED, UNPRIVILEGED_UNAVAILABLE } from './support/unprivileged.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/png2y4m.js');

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function png2y4m(args: string[], input?: Buffer, as: Pick<SpawnSyncOptions, 'uid' | 'gid'> = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { input, timeout: 60_000, ...as });
  const stderr = result.stderr.toString('latin1');
  expect(stderr).not.toMatch(/\n\s+at /); // no stack traces, ever
  return { status: result.status, stdout: result.stdout, stderr };
}

function image(width: number, height: number, seed = 1): Buffer {
  const pixels = Array.from({ length: width * height }, (_, p) => [(p * seed * 31) % 256, (p * 7 + seed) % 256, (seed * 50) % 256]);
  return encodePng({ width, height, bitDepth: 8, colorType: 2, pixels });
}

const header = (w: number, h: number): string => `YUV4MPEG2 W${w} H${h} F24:1 Ip A0:0 C420jpeg\n`;
const frameBytes = (w: number, h: number): number => 6 + w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2);

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('png2y4m-cli-');
});

function frames(...images: Buffer[]): string {
  const folder = join(dir, 'frames');
  mkdirSync(folder, { recursive: true });
  images.forEach((png, k) => writeFileSync(join(folder, `${String(k + 1).padStart(8, '0')}.png`), png));
  return join(folder, '%08d.png');
}

describe('png2y4m command line', () => {
  it('prints usage for -h (exit 0) and for too few arguments or bad options (exit 1)', () => {
    expect(png2y4m(['-h'])).toMatchObject({ status: 0, stderr: expect.stringMatching(/^Usage: png2y4m \[options\] <input>\n/) });
    expect(png2y4m(['in.png'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Usage: /) });
    const bad = png2y4m(['--chroma-4', '-o', 'x', 'in.png']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^png2y4m: option '--chroma-4' is ambiguous; possibilities: '--chroma-444' '--chroma-422'\nUsage: /);
    expect(png2y4m(['-o', join(dir, 'x.y4m')])).toMatchObject({ status: 1, stderr: 'No input files specified. Run with -h for help.\n' });
  });

  it('converts a sequence in byte order and names each frame on stderr', () => {
    const mask = frames(image(6, 4, 1), image(6, 4, 2), image(6, 4, 3));
    const out = join(dir, 'out.y4m');
    const run = png2y4m(['-o', out, mask]);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('3 frames, 6x4\n00000001.png\n00000002.png\n00000003.png\n');
    const bytes = readFileSync(out);
    expect(bytes.subarray(0, header(6, 4).length).toString()).toBe(header(6, 4));
    expect(bytes.length).toBe(header(6, 4).length + 3 * frameBytes(6, 4));
  });

  it('stops at a size mismatch, leaving the header and the complete earlier frames', () => {
    const mask = frames(image(6, 4), image(6, 4, 2), image(4, 4), image(6, 4));
    const out = join(dir, 'out.y4m');
    const run = png2y4m(['-d', '-o', out, mask]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe('Input size 4x4 does not match 6x4');
    expect(readFileSync(out).length).toBe(header(6, 4).length + 2 * frameBytes(6, 4));
    // -d deleted each input as it was opened; the one after the failure is still there.
    expect(readdirSync(join(dir, 'frames'))).toEqual(['00000004.png']);
  });

  it.each([
    ['an empty file', Buffer.alloc(0), 'Error reading from file.'],
    ['a non-PNG', Buffer.from('GIF89a, not a PNG at all'), 'Error: Not a PNG.'],
    ['a truncated PNG', image(6, 4).subarray(0, 60), 'libpng error: Read Error'],
    ['a PNG with a bad IDAT CRC', (() => { const p = image(6, 4); p[p.length - 13]! ^= 1; return p; })(), 'libpng error: IDAT: CRC error'],
  ])('fails on %s as the first input with an empty output file', (_what, bytes, message) => {
    const mask = frames(bytes);
    const out = join(dir, 'out.y4m');
    writeFileSync(out, 'old contents');
    expect(png2y4m(['-o', out, mask])).toMatchObject({ status: 1, stderr: `${message}\n` });
    expect(readFileSync(out).length).toBe(0);
  });

  it('fails on a bad frame in the middle, keeping earlier frames (and -d deletes up to it)', () => {
    const mask = frames(image(6, 4), Buffer.from('nope'), image(6, 4));
    const out = join(dir, 'out.y4m');
    expect(png2y4m(['-d', '-o', out, mask])).toMatchObject({ status: 1 });
    expect(readFileSync(out).length).toBe(header(6, 4).length + frameBytes(6, 4));
    expect(readdirSync(join(dir, 'frames'))).toEqual(['00000003.png']);
  });

  it('reports an output it cannot open, after deleting the first input with -d', () => {
    const mask = frames(image(6, 4), image(6, 4));
    const out = join(dir, 'missing', 'out.y4m');
    expect(png2y4m(['-d', '-o', out, mask])).toMatchObject({ status: 1, stderr: `Error opening output file "${out}".\n` });
    expect(readdirSync(join(dir, 'frames'))).toEqual(['00000002.png']);
    expect(png2y4m(['-o', dir, mask])).toMatchObject({ status: 1, stderr: `Error opening output file "${dir}".\n` });
  });

  it('deletes the first input even when no output was given', () => {
    const mask = frames(image(6, 4));
    // Two argv entries is "too few": usage, nothing touched.
    expect(png2y4m([mask])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Usage: /) });
    expect(existsSync(join(dir, 'frames', '00000001.png'))).toBe(true);
    expect(png2y4m(['-d', mask])).toMatchObject({ status: 1, stderr: 'No output file specified. Run with -h for help.\n' });
    expect(existsSync(join(dir, 'frames', '00000001.png'))).toBe(false);
  });

  it('reports a mask without matches, and a matching folder as unreadable', () => {
    expect(png2y4m(['-o', join(dir, 'o'), join(dir, 'none', '%08d.png')])).toMatchObject({
      status: 1,
      stderr: 'No input files found. Run with -h for help.\n',
    });
    mkdirSync(join(dir, 'frames', '00000001.png'), { recursive: true });
    expect(png2y4m(['-o', join(dir, 'o'), join(dir, 'frames', '%08d.png')])).toMatchObject({ status: 1, stderr: 'Error reading from file.\n' });
  });

  it('reports an input it may not open with strerror', ({ skip }) => {
    skip(UNPRIVILEGED === undefined, UNPRIVILEGED_UNAVAILABLE);
    const mask = frames(image(6, 4));
    const path = join(dir, 'frames', '00000001.png');
    chmodSync(path, 0);
    // Reachable and writable for the unprivileged process; only the frame is closed to it.
    chmodSync(dir, 0o777);
    chmodSync(join(dir, 'frames'), 0o755);
    expect(png2y4m(['-o', join(dir, 'o'), mask], undefined, UNPRIVILEGED)).toMatchObject({ status: 1, stderr: `Error opening "${path}": Permission denied\n` });
  });

  it('with -i -d per frame (the mu pattern) builds the same file as one run', () => {
    const pngs = [image(7, 5, 1), image(7, 5, 2), image(7, 5, 3)];
    const whole = join(dir, 'whole.y4m');
    expect(png2y4m(['-o', whole, frames(...pngs)]).status).toBe(0);
    const stepwise = join(dir, 'steps.y4m');
    const frameDir = join(dir, 'one');
    mkdirSync(frameDir);
    pngs.forEach((png, k) => {
      writeFileSync(join(frameDir, `${String(k + 1).padStart(8, '0')}.png`), png);
      expect(png2y4m(['-i', '-d', '-f', k === 0 ? '24' : '99', '-o', stepwise, join(frameDir, '%08d.png')]).status).toBe(0);
      expect(readdirSync(frameDir)).toEqual([]);
    });
    expect(readFileSync(stepwise)).toEqual(readFileSync(whole));
  });

  it('reads stdin for "-" and writes stdout for "-o -", complete when the process exits', () => {
    const png = image(300, 200);
    const run = png2y4m(['-o', '-', '-'], png);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('1 frames, 300x200\n');
    expect(run.stdout.length).toBe(header(300, 200).length + frameBytes(300, 200));
    // -i on a pipe: ftell fails, so no header.
    const incremental = png2y4m(['-i', '-o', '-', '-'], png);
    expect(incremental.stdout.length).toBe(frameBytes(300, 200));
  });

  it.skipIf(!existsSync('/dev/full'))('fails when the output cannot be written, like stdio would', () => {
    const big = frames(image(300, 200));
    expect(png2y4m(['-o', '/dev/full', big])).toMatchObject({ status: 1, stderr: '1 frames, 300x200\n00000001.png\nError writing to "/dev/full".\n' });
    // Everything fits in the stdio buffer and the C tool never checks its final flush.
    const tiny = join(dir, 'tiny.png');
    writeFileSync(tiny, image(4, 4));
    expect(png2y4m(['-o', '/dev/full', tiny]).status).toBe(0);
  });
});
