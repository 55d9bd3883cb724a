/**
 * The vpxenc and map jobs' machines driven by simulated workers: success, a FAIL answer, and a
 * worker gone silent (timeout); and their plans' keys.
 */
import { describe, expect, it } from 'vitest';
import { mapMachine, globPattern, outputName } from '../jobs/map.js';
import { vpxencKeys, vpxencMachine } from '../jobs/vpxenc.js';
import { runConnection } from './support/runConnection.js';

const vpx = { chunk: 3, video: 'v', inFormat: 'y4m_06', quality: 30, answerTimeoutMs: 1000 };

describe('vpxenc machine', () => {
  it('fetches the chunk, encodes it at the quality, uploads under the quality prefix and quits', () => {
    const run = runConnection(vpxencMachine, vpx);
    expect(run.output).toEqual({ status: 'done' });
    expect(run.worker.commands).toEqual([
      'set:cmdinfile:##TMPDIR##/00000003.y4m',
      'set:cmdoutfile:##TMPDIR##/00000003.ivf',
      'set:cmdquality:30',
      'set:inkey:v-y4m_06/00000003.y4m',
      'set:targfile:##TMPDIR##/00000003.y4m',
      'set:fromfile:##TMPDIR##/00000003.ivf',
      'set:outkey:v-vpxenc_q30/00000003.ivf',
      'seti:nonblock:0',
      'retrieve:',
      'run:',
      'upload:',
      'quit:',
    ]);
    expect(run.worker.commands).toContain(`set:outkey:${vpxencKeys(vpx).outputKey}`);
    expect(run.worker.commands).toContain(`set:inkey:${vpxencKeys(vpx).inputKey}`);
  });

  it('fails on a non-zero exit of vpxenc, naming the state', () => {
    const run = runConnection(vpxencMachine, vpx, { rules: [{ when: 'run:', then: { answer: 'OK:RETVAL(1):bad y4m' } }] });
    expect(run.output).toMatchObject({ status: 'failed', state: 'encode.run' });
  });

  it('fails when the worker goes silent past the answer timeout', () => {
    const run = runConnection(vpxencMachine, vpx, { rules: [{ when: 'retrieve:', then: { silent: true } }] });
    run.clock.increment(1000);
    expect(run.output).toMatchObject({ status: 'failed', state: 'fetch.retrieve' });
    expect((run.output as { reason: string }).reason).toMatch(/no answer within 1000 ms/);
  });
});

const items = [
  { key: 'in/a.txt', outKey: 'out/a.txt', inSuffix: '.txt', outSuffix: '.txt' },
  { key: 'in/b c.txt', outKey: 'out/b c.txt', inSuffix: '.txt', outSuffix: '.txt' },
];

describe('map machine', () => {
  it('retrieves, runs and uploads every key of its chunk, under local names of its own', () => {
    const run = runConnection(mapMachine, { chunk: 0, items, answerTimeoutMs: 1000 });
    expect(run.output).toEqual({ status: 'done' });
    const perKey = (i: number, key: string, out: string) => [
      `set:inkey:${key}`,
      `set:targfile:##TMPDIR##/in_${i}.txt`,
      `set:cmdinfile:##TMPDIR##/in_${i}.txt`,
      `set:cmdoutfile:##TMPDIR##/out_${i}.txt`,
      'retrieve:',
      'run:',
      `set:fromfile:##TMPDIR##/out_${i}.txt`,
      `set:outkey:${out}`,
      'upload:',
    ];
    expect(run.worker.commands).toEqual(['seti:nonblock:0', ...perKey(0, 'in/a.txt', 'out/a.txt'), ...perKey(1, 'in/b c.txt', 'out/b c.txt'), 'quit:']);
  });

  it('fails on FAIL and on silence', () => {
    const failed = runConnection(mapMachine, { chunk: 0, items, answerTimeoutMs: 1000 }, { rules: [{ when: 'upload:', then: { fail: 'no space' } }] });
    expect(failed.output).toMatchObject({ status: 'failed', state: 'inputs.input.upload' });
    const silent = runConnection(mapMachine, { chunk: 0, items, answerTimeoutMs: 1000 }, { rules: [{ when: 'run:', then: { silent: true } }] });
    silent.clock.increment(1000);
    expect(silent.output).toMatchObject({ status: 'failed', state: 'inputs.input.run' });
  });

  it('names outputs from {name}, {stem}, {ext}, and matches file names by glob', () => {
    expect(outputName('{stem}.out{ext}', 'a.tar.gz')).toBe('a.tar.out.gz');
    expect(outputName('{name}', 'x')).toBe('x');
    expect(['a.txt', 'b.png', 'c.txt.bak', 'd1.txt'].filter((n) => globPattern('*.txt').test(n))).toEqual(['a.txt', 'd1.txt']);
    expect(globPattern('d[0-9].t?t').test('d1.txt')).toBe(true);
    expect(globPattern('a.b').test('axb')).toBe(false);
  });
});
