/**
 * The pieces of png2y4m in isolation: the PRNG and dither, integer rounding, the BT.709 maths,
 * the stream header, GNU option parsing with atol numbers, and the input-mask filter.
 */
import { describe, expect, it } from 'vitest';
import { atolInt32 } from '../png2y4m/atol.js';
import { allocatePlanes, cbFromSums, convertFrame, crFromSums, lumaFor } from '../png2y4m/bt709.js';
import { ditherPlan } from '../png2y4m/ditherPlan.js';
import { getoptLong } from '../png2y4m/getoptLong.js';
import { basename, dirname, splitMask } from '../png2y4m/inputMask.js';
import { floorDiv, rhaz, wrap32 } from '../png2y4m/intMath.js';
import { DITHER_RANGE_CB, DITHER_RANGE_CR, DITHER_RANGE_Y, Kiss99, triangular } from '../png2y4m/kiss99.js';
import { compileMaskFilter, formatInt, scanInt } from '../png2y4m/maskFilter.js';
import { LONG_OPTIONS, SHORT_OPTIONS, defaultOptions, parseCommandLine } from '../png2y4m/options.js';
import { y4mHeader } from '../png2y4m/y4mHeader.js';

class CountingKiss99 extends Kiss99 {
  draws = 0;
  override next(): number {
    this.draws++;
    return super.next();
  }
}

describe('KISS99 and the triangular deviate', () => {
  it('produces the reference first outputs from the fixed seed', () => {
    const rng = new Kiss99();
    expect(Array.from({ length: 8 }, () => rng.next())).toEqual([
      769445856, 742012328, 2121196314, 2805620942, 3214428071, 3762104941, 2038049824, 2598763430,
    ]);
  });

  it('gives the first block its reference deviates and consumes 31 then 58 outputs', () => {
    const rng = new CountingKiss99();
    const block = (): number[][] =>
      [0, 1, 2, 3].map(() => [triangular(rng, DITHER_RANGE_Y), triangular(rng, DITHER_RANGE_CB), triangular(rng, DITHER_RANGE_CR)]);
    expect(block()).toEqual([
      [27433528, -684424628, -547676870],
      [662606395, 597007450, -273016341],
      [441129234, -673583834, -2617554],
      [-101089519, 871440460, -541119501],
    ]);
    expect(rng.draws).toBe(31);
    block();
    expect(rng.draws).toBe(58);
  });

  it('keeps deviates within [-r, r]', () => {
    const rng = new Kiss99();
    for (let i = 0; i < 2000; i++) expect(Math.abs(triangular(rng, 10))).toBeLessThanOrEqual(10);
  });

  it('builds dither plans that agree with the generator and with rhaz, for every chroma mode', () => {
    for (const chroma of ['420', '422', '444'] as const) {
      const plan = ditherPlan(6, 3, chroma); // 3 x 2 blocks, partial bottom row
      const rng = new Kiss99();
      const index = chroma === '444' ? [0, 1, 2, 3] : chroma === '422' ? [0, 0, 2, 2] : [0, 0, 0, 0];
      for (let block = 0; block < 6; block++) {
        const d = [0, 1, 2, 3].map(() => [triangular(rng, DITHER_RANGE_Y), triangular(rng, DITHER_RANGE_CB), triangular(rng, DITHER_RANGE_CR)]);
        for (let k = 0; k < 4; k++) {
          const [y, b, r] = [d[k]![0]!, d[index[k]!]![1]!, d[index[k]!]![2]!];
          expect(Array.from(plan.subarray(block * 12 + k * 3, block * 12 + k * 3 + 3))).toEqual([
            rhaz(2 * y + 3 * r, 8176000),
            rhaz(2384 * y + 361 * b + 1063 * r, 9745792000),
            rhaz(2 * y + 3 * b, 8176000),
          ]);
        }
      }
    }
  });
});

describe('integer helpers', () => {
  it('floors exactly, also where the double quotient rounds up', () => {
    expect(floorDiv(7, 2)).toBe(3);
    expect(floorDiv(-7, 2)).toBe(-4);
    expect(floorDiv(-8, 2)).toBe(-4);
    // (2^53 - 2) / (2^53 - 1) is just below 1 but rounds to 1.0 in binary64.
    expect(floorDiv(2 ** 53 - 2, 2 ** 53 - 1)).toBe(0);
    expect(floorDiv(1780026171875 * 37 - 1, 1780026171875)).toBe(36);
  });

  it('rounds half away from zero', () => {
    expect(rhaz(5, 2)).toBe(3);
    expect(rhaz(-5, 2)).toBe(-3);
    expect(rhaz(4, 3)).toBe(1);
    expect(rhaz(-4, 3)).toBe(-1);
    expect(rhaz(4088000, 8176000)).toBe(1);
    expect(rhaz(4087999, 8176000)).toBe(0);
    expect(rhaz(-4088000, 8176000)).toBe(-1);
    expect(rhaz(0, 9745792000)).toBe(0);
  });

  it('wraps to signed 32 bits like gcc int arithmetic', () => {
    expect(wrap32(2 ** 31)).toBe(-(2 ** 31));
    expect(wrap32(3 * 46341 ** 2)).toBe(3 * 46341 ** 2 - 2 * 2 ** 32);
    expect(wrap32(46341 ** 2)).toBe(46341 ** 2 - 2 ** 32);
    expect(wrap32(-1)).toBe(-1);
  });
});

describe('BT.709 conversion', () => {
  it.each([
    [[0, 0, 0], [16, 128, 128]],
    [[65535, 65535, 65535], [235, 128, 128]],
    [[65535, 0, 0], [63, 102, 240]],
    [[0, 65535, 0], [172, 42, 26]],
    [[0, 0, 65535], [32, 240, 118]],
    [[32768, 32768, 32768], [126, 128, 128]],
    [[12345, 54321, 999], [155, 53, 65]],
  ])('maps %j to Y,Cb,Cr %j (4:4:4, no dither)', ([r, g, b], expected) => {
    const cb = cbFromSums(r!, g!, b!, 4);
    const cr = crFromSums(r!, g!, b!, 4);
    expect([lumaFor(r!, g!, b!, cb, cr), cb, cr]).toEqual(expected);
    const planes = allocatePlanes(1, 1, '444');
    convertFrame(Uint16Array.from([r!, g!, b!]), 1, 1, '444', null, planes);
    expect([planes.y[0], planes.cb[0], planes.cr[0]]).toEqual(expected);
  });

  it('uses the block mean for 4:2:0 chroma and replicates edge pixels of odd sizes', () => {
    const planes = allocatePlanes(3, 1, '420');
    convertFrame(Uint16Array.from([65535, 0, 0, 65535, 0, 0, 0, 0, 65535]), 3, 1, '420', null, planes);
    expect(planes.chromaWidth).toBe(2);
    expect(planes.chromaHeight).toBe(1);
    // Second block: one blue pixel, replicated to fill its 2x2 block.
    expect([planes.y[2], planes.cb[1], planes.cr[1]]).toEqual([32, 240, 118]);
    expect([planes.cb[0], planes.cr[0]]).toEqual([102, 240]);
  });
});

describe('stream header', () => {
  it('formats every chroma tag and negative numbers', () => {
    const base = { width: 1024, height: 436, framerateNumerator: 24, framerateDenominator: 1, aspectNumerator: 0, aspectDenominator: 0 };
    expect(y4mHeader({ ...base, chroma: '420' })).toBe('YUV4MPEG2 W1024 H436 F24:1 Ip A0:0 C420jpeg\n');
    expect(y4mHeader({ ...base, chroma: '422' })).toBe('YUV4MPEG2 W1024 H436 F24:1 Ip A0:0 C422jpeg\n');
    expect(y4mHeader({ ...base, chroma: '444', framerateNumerator: -5, aspectDenominator: 7 })).toBe(
      'YUV4MPEG2 W1024 H436 F-5:1 Ip A0:7 C444\n',
    );
  });
});

describe('atol', () => {
  it.each([
    ['4294967297', 1],
    ['99999999999999999999', -1],
    ['-99999999999999999999', 0],
    ['abc', 0],
    ['12xyz', 12],
    ['+7', 7],
    ['-5', -5],
    ['  \t42', 42],
    ['-', 0],
    ['2147483648', -2147483648],
    ['', 0],
  ])('atol(%j) stored in an int is %i', (text, value) => {
    expect(atolInt32(text)).toBe(value);
  });
});

describe('GNU getopt_long emulation', () => {
  const parse = (...args: string[]) => getoptLong(['png2y4m', ...args], SHORT_OPTIONS, LONG_OPTIONS);

  it('permutes operands, combines flags and takes attached or separate arguments', () => {
    const { events, operands } = parse('in.png', '-di', '-oout', 'extra', '-f', '30');
    expect(operands).toEqual(['in.png', 'extra']);
    expect(events).toEqual([
      { kind: 'option', key: 'd', value: null },
      { kind: 'option', key: 'i', value: null },
      { kind: 'option', key: 'o', value: 'out' },
      { kind: 'option', key: 'f', value: '30' },
    ]);
  });

  it('takes a separate argument even when it looks like an option, and stops at --', () => {
    const { events, operands } = parse('-o', '-d', '--', '-i');
    expect(events).toEqual([{ kind: 'option', key: 'o', value: '-d' }]);
    expect(operands).toEqual(['-i']);
  });

  it('accepts unambiguous prefixes and both long argument forms', () => {
    expect(parse('--no-d', '--chroma-44', '--out', 'x', '--framerate-n=5').events).toEqual([
      { kind: 'option', key: 'no-dither', value: null },
      { kind: 'option', key: '444', value: null },
      { kind: 'option', key: 'o', value: 'x' },
      { kind: 'option', key: 'f', value: '5' },
    ]);
  });

  it.each([
    [['-x'], "png2y4m: invalid option -- 'x'\n"],
    [['-o'], "png2y4m: option requires an argument -- 'o'\n"],
    [['--chroma-4'], "png2y4m: option '--chroma-4' is ambiguous; possibilities: '--chroma-444' '--chroma-422'\n"],
    [['--bogus=1'], "png2y4m: unrecognized option '--bogus=1'\n"],
    [['--no-dither=1'], "png2y4m: option '--no-dither' doesn't allow an argument\n"],
    [['--output'], "png2y4m: option '--output' requires an argument\n"],
  ])('diagnoses %j like glibc', (args, message) => {
    expect(parse(...args).events).toContainEqual({ kind: 'error', message });
  });

  it('stops at the first operand under POSIXLY_CORRECT', () => {
    const { events, operands } = getoptLong(['p', 'in.png', '-d'], SHORT_OPTIONS, LONG_OPTIONS, { posixlyCorrect: true });
    expect(events).toEqual([]);
    expect(operands).toEqual(['in.png', '-d']);
  });

  it('treats a lone - as an operand (stdin)', () => {
    expect(parse('-o', 'x', '-').operands).toEqual(['-']);
  });
});

describe('command line', () => {
  it('applies defaults, atol numbers, last-wins options and sticky --no-dither', () => {
    const parsed = parseCommandLine(['p', '--chroma-444', '--chroma-422', '-o', 'a', '-o', 'b', '--no-dither', '-s', '12xyz', 'in']);
    expect(parsed).toEqual({
      kind: 'parsed',
      operands: ['in'],
      options: { ...defaultOptions(), chroma: '422', output: 'b', dither: false, aspectNumerator: 12 },
    });
  });

  it('honours -h where getopt reaches it, but not after an earlier error', () => {
    expect(parseCommandLine(['p', '-o', 'x', 'in', '-h', '-Q']).kind).toBe('help');
    expect(parseCommandLine(['p', '-Q', '-h'])).toEqual({ kind: 'invalid', diagnostic: "p: invalid option -- 'Q'\n" });
  });
});

describe('input masks', () => {
  it.each([
    ['frames/%08d.png', 'frames', '%08d.png'],
    ['%08d.png', '.', '%08d.png'],
    ['/x.png', '/', 'x.png'],
    ['//x.png', '//', 'x.png'],
    ['a//b/', 'a', 'b'],
    ['dir/', '.', 'dir'],
    ['/', '/', '/'],
    ['', '.', '.'],
  ])('splits %j into dir %j and filter %j', (mask, dir, filter) => {
    expect(splitMask(mask)).toEqual({ dir, filter });
    expect([dirname(mask), basename(mask)]).toEqual([dir, filter]);
  });

  it('matches %08d names the way scanf/printf round-trip them', () => {
    const accept = compileMaskFilter('%08d.png');
    for (const name of ['00000001.png', '12345678.png', '-0000001.png']) expect(accept(name)).toBe(true);
    for (const name of ['1.png', '000000001.png', '+0000001.png', '00000001.PNG', '00000001.png.bak', 'x.png']) {
      expect(accept(name)).toBe(false);
    }
  });

  it('matches %d names and literal filters', () => {
    const accept = compileMaskFilter('%d.png');
    expect(['1.png', '10.png', '-5.png'].map(accept)).toEqual([true, true, true]);
    expect(['01.png', '+5.png', ' 5.png'].map(accept)).toEqual([false, false, false]);
    expect(compileMaskFilter('1.png')('1.png')).toBe(true);
    expect(compileMaskFilter('1.png')('2.png')).toBe(false);
  });

  it('reports -1 when scanf assigns nothing, and formats like printf', () => {
    expect(scanInt('%08d.png', 'abc.png')).toBe(-1);
    expect(scanInt('frame%d', 'frame 42')).toBe(42);
    expect(formatInt('%08d.png', -1)).toBe('-0000001.png');
    expect(formatInt('%5d|%-5d', 42)).toBe('   42|%-5d');
    expect(formatInt('100%% %d', 7)).toBe('100% 7');
  });

  it('sorts byte-wise, like alphasort in the C locale', () => {
    const names = ['2.png', '10.png', '1.png', '-0000001.png', '00000001.png', 'B.png', 'a.png'];
    const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
    expect(sorted).toEqual(['-0000001.png', '00000001.png', '1.png', '10.png', '2.png', 'B.png', 'a.png']);
  });
});
