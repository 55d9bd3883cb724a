/**
 * IVF parsing and joining (runtime/video/ivf.ts) on hand-built files, and `xc-orch ivf join` as a
 * user runs it (the built CLI in a child process): joined output, and one-line refusals, exit 2.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { IvfError, joinIvf, parseIvf, writeIvf, type IvfHeader } from '../runtime/video/ivf.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const vp8 = (width = 256, height = 144, rate = 24): IvfHeader => ({ fourcc: 'VP80', width, height, rate, scale: 1 });
const frames = (...sizes: number[]) => sizes.map((size, i) => Buffer.alloc(size, i + 1));

/** An IVF as xc-enc writes it: time base 1/1, every timestamp 0, garbage in the unused field. */
function xcEncStyle(sizes: number[]): Buffer {
  const file = writeIvf(vp8(256, 144, 1), frames(...sizes));
  file.writeUInt32LE(0xdeadbeef, 28);
  let offset = 32;
  for (const size of sizes) {
    file.writeBigUInt64LE(0n, offset + 4);
    offset += 12 + size;
  }
  return file;
}

describe('parseIvf / joinIvf', () => {
  it('reads back what writeIvf wrote', () => {
    const file = parseIvf(writeIvf(vp8(), frames(5, 0, 3)), 'a.ivf');
    expect(file.header).toEqual(vp8());
    expect(file.frames.map((f) => [...f])).toEqual([[1, 1, 1, 1, 1], [], [3, 3, 3]]);
  });

  it('joins in order: one header, the first input\'s time base, total count, timestamps renumbered', () => {
    const joined = joinIvf([
      { name: '0.ivf', bytes: writeIvf(vp8(), frames(4, 2)) },
      { name: '1.ivf', bytes: xcEncStyle([3, 1, 2]) },
    ]);
    expect(joined.toString('latin1', 0, 4)).toBe('DKIF');
    expect(joined.readUInt32LE(16)).toBe(24); // rate of the first input
    expect(joined.readUInt32LE(24)).toBe(5);
    expect(joined.readUInt32LE(28)).toBe(0);
    expect(joined.byteLength).toBe(32 + 5 * 12 + 4 + 2 + 3 + 1 + 2);
    const stamps: bigint[] = [];
    const sizes: number[] = [];
    for (let offset = 32; offset < joined.byteLength; offset += 12 + joined.readUInt32LE(offset)) {
      sizes.push(joined.readUInt32LE(offset));
      stamps.push(joined.readBigUInt64LE(offset + 4));
    }
    expect(sizes).toEqual([4, 2, 3, 1, 2]);
    expect(stamps).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(parseIvf(joined, 'joined').frames[2]!.equals(Buffer.alloc(3, 1))).toBe(true);
  });

  it('counts frames instead of trusting the header (0 when written to a pipe)', () => {
    const file = writeIvf(vp8(), frames(1, 1));
    file.writeUInt32LE(0, 24);
    expect(parseIvf(file, 'piped.ivf').frames).toHaveLength(2);
  });

  it.each([
    ['not IVF', Buffer.from('YUV4MPEG2 W256 H144 F24:1 Ip A0:0 C420jpeg\n'), /^x\.ivf is not an IVF file \(no DKIF header\)$/],
    ['empty', Buffer.alloc(0), /is not an IVF file/],
    ['another version', (() => { const b = writeIvf(vp8(), []); b.writeUInt16LE(1, 4); return b; })(), /unsupported IVF version 1 with a 32-byte header/],
    ['cut in a frame header', writeIvf(vp8(), frames(4)).subarray(0, 32 + 7), /x\.ivf is cut short: frame 0 has 7 of its 12 header bytes/],
    ['cut in a frame', writeIvf(vp8(), frames(4, 10)).subarray(0, 32 + 16 + 12 + 3), /x\.ivf is cut short: frame 1 needs 10 bytes, 3 are left/],
  ])('refuses a file that is %s, naming it', (_what, bytes, message) => {
    expect(() => parseIvf(bytes, 'x.ivf')).toThrow(IvfError);
    expect(() => parseIvf(bytes, 'x.ivf')).toThrow(message);
  });

  it('refuses inputs of another size or codec, and an empty list', () => {
    const a = { name: 'a.ivf', bytes: writeIvf(vp8(), frames(1)) };
    expect(() => joinIvf([a, { name: 'b.ivf', bytes: writeIvf(vp8(320, 144), frames(1)) }])).toThrow(
      'b.ivf does not match a.ivf: "VP80" 320x144 against "VP80" 256x144',
    );
    expect(() => joinIvf([a, { name: 'c.ivf', bytes: writeIvf({ ...vp8(), fourcc: 'VP90' }, frames(1)) }])).toThrow(/c\.ivf does not match a\.ivf: "VP90"/);
    expect(() => joinIvf([])).toThrow('nothing to join: no input files');
  });
});

describe('xc-orch ivf join', () => {
  const tempDir = useTempDirs();
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('xc-ivf-');
  });

  const xc = (args: string[]) => runCli(['ivf', ...args], { cwd: dir });

  it('writes the joined file and prints its path', async () => {
    await writeFile(join(dir, '0.ivf'), writeIvf(vp8(), frames(4, 2)));
    await writeFile(join(dir, '1.ivf'), xcEncStyle([3]));
    const result = await xc(['join', 'all.ivf', '0.ivf', '1.ivf']);
    expect(result).toEqual({ code: 0, stdout: 'all.ivf\n', stderr: '' });
    expect(parseIvf(await readFile(join(dir, 'all.ivf')), 'all.ivf').frames.map((f) => f.byteLength)).toEqual([4, 2, 3]);
  });

  it.each([
    ['a file that is not IVF', ['join', 'out.ivf', '0.ivf', 'bad.y4m'], 'xc-orch ivf: bad.y4m is not an IVF file (no DKIF header)\n'],
    ['a mismatched input', ['join', 'out.ivf', '0.ivf', 'big.ivf'], 'xc-orch ivf: big.ivf does not match 0.ivf: "VP80" 512x288 against "VP80" 256x144\n'],
    ['a missing input', ['join', 'out.ivf', '0.ivf', 'nope.ivf'], /^xc-orch ivf: cannot read nope\.ivf: ENOENT[^\n]*\n$/],
    ['no inputs', ['join', 'out.ivf'], 'xc-orch ivf: join needs OUT and at least one IN; see --help\n'],
    ['an unknown action', ['split', 'x.ivf'], "xc-orch ivf: unknown action 'split' (known: join)\n"],
  ])('refuses %s with one line, exit 2, and writes nothing', async (_what, args, message) => {
    await writeFile(join(dir, '0.ivf'), writeIvf(vp8(), frames(4)));
    await writeFile(join(dir, 'big.ivf'), writeIvf(vp8(512, 288), frames(4)));
    await writeFile(join(dir, 'bad.y4m'), 'YUV4MPEG2 W256 H144\n');
    const result = await xc(args);
    expect(result.code).toBe(2);
    if (typeof message === 'string') expect(result.stderr).toBe(message);
    else expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect((await readdir(dir)).sort()).toEqual(['0.ivf', 'bad.y4m', 'big.ivf']);
  });

  it('exits 1 with one line when OUT cannot be written, leaving no partial file', async () => {
    await writeFile(join(dir, '0.ivf'), writeIvf(vp8(), frames(4)));
    const result = await xc(['join', 'no-such-folder/out.ivf', '0.ivf']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^xc-orch ivf: cannot write no-such-folder\/out\.ivf: ENOENT[^\n]*\n$/);
    expect(await readdir(dir)).toEqual(['0.ivf']);
  });
});
