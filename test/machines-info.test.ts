/**
 * The worker's info record (issue 9, "quadratic INFO:"): an `INFO:K:V` answer costs O(1) however
 * many keys came before (each used to copy the whole record: 20,000 keys blocked the coordinator
 * for 80 s), and the record is bounded per worker, with a reason naming the bound. Timed in
 * bench/infoFlood.ts; asserted here by counts.
 */
import { describe, expect, it } from 'vitest';
import { commandList, infoWatcher, superposition } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { EMPTY_INFO, INFO_LIMITS, infoObject, infoOverflow, infoValue, withInfo, type InfoRecord } from '../machines/infoRecord.js';
import { runConnection } from './support/runConnection.js';

const waitForever = createConnectionMachine({
  id: 'info',
  blocks: [infoWatcher('watch', { key: 'done', present: true })],
  vars: () => ({}),
});

function fill(keys: number, value = 'v'): InfoRecord {
  let record = EMPTY_INFO;
  for (let i = 0; i < keys; i++) record = withInfo(record, `key${i}`, value);
  return record;
}

describe('info record', () => {
  it('copies one bucket and the bucket list per update, whatever the size of the record', () => {
    const before = fill(INFO_LIMITS.keys - 1);
    const after = withInfo(before, 'one more', 'x');
    const changed = after.buckets.filter((bucket, i) => bucket !== before.buckets[i]);
    expect(changed).toHaveLength(1);
    // No bucket holds more than a small share of the keys, so the copied one is small too.
    expect(Math.max(...after.buckets.map((b) => b.length))).toBeLessThan(INFO_LIMITS.keys / 8);
    expect(after.buckets).toHaveLength(before.buckets.length);
  });

  it('leaves earlier records as they were (contexts stay immutable)', () => {
    const a = withInfo(EMPTY_INFO, 'fps', '24');
    const b = withInfo(a, 'fps', '30');
    const c = withInfo(b, 'size', '1k');
    expect([infoValue(a, 'fps'), infoValue(b, 'fps'), infoValue(c, 'fps')]).toEqual(['24', '30', '30']);
    expect(infoObject(a)).toEqual({ fps: '24' });
    expect(infoObject(c)).toEqual({ fps: '30', size: '1k' });
    expect([a.keys, b.keys, c.keys]).toEqual([1, 1, 2]);
    expect([a.chars, b.chars, c.chars]).toEqual([5, 5, 11]);
    expect(infoValue(c, '__proto__')).toBeUndefined();
    expect(infoValue(withInfo(c, '__proto__', 'x'), '__proto__')).toBe('x');
  });

  it('says which bound an update would cross', () => {
    const full = fill(INFO_LIMITS.keys);
    expect(infoOverflow(full, 'key0', 'new value')).toBeUndefined();
    expect(infoOverflow(full, 'another', 'v')).toBe(`more than ${INFO_LIMITS.keys} info keys`);
    expect(infoOverflow(EMPTY_INFO, 'k', 'x'.repeat(INFO_LIMITS.chars - 1))).toBeUndefined();
    expect(infoOverflow(EMPTY_INFO, 'k', 'x'.repeat(INFO_LIMITS.chars))).toBe(`more than ${INFO_LIMITS.chars} characters of info`);
  });
});

describe('a connection flooded with INFO answers', () => {
  it('keeps every key up to the bound, then fails with the reason on the first key beyond it', () => {
    const run = runConnection(waitForever, {});
    let sent = 0;
    for (let i = 0; i < 20_000 && run.actor.getSnapshot().status === 'active'; i++, sent++) run.worker.sendInfo(`key${i}`, 'v');
    expect(sent).toBe(INFO_LIMITS.keys + 1);
    expect(run.info).toHaveLength(INFO_LIMITS.keys);
    expect(run.context.info.keys).toBe(INFO_LIMITS.keys);
    expect(run.output).toEqual({
      status: 'failed',
      state: 'watch.watch',
      reason: `worker sent more than ${INFO_LIMITS.keys} info keys (at key "key${INFO_LIMITS.keys}") in state watch.watch, waiting for info done present`,
    });
  });

  it('takes any number of updates to keys it already has', () => {
    const run = runConnection(waitForever, {});
    for (let i = 0; i < 5_000; i++) run.worker.sendInfo(`key${i % 10}`, String(i));
    expect(run.context.info.keys).toBe(10);
    expect(infoValue(run.context.info, 'key9')).toBe('4999');
    run.worker.sendInfo('done', 'yes');
    expect(run.output).toEqual({ status: 'done' });
  });

  it('fails on a value that would take the record past its characters, inside a superposition too', () => {
    const machine = createConnectionMachine({
      id: 'info',
      blocks: [superposition('s', [infoWatcher('w', { key: 'done', present: true }), commandList('c', ['echo:c'])])],
      vars: () => ({}),
    });
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.worker.sendInfo('big', 'x'.repeat(INFO_LIMITS.chars));
    expect(run.info).toEqual([]);
    expect(run.output).toMatchObject({ status: 'failed' });
    expect((run.output as { reason: string }).reason).toMatch(new RegExp(`^worker sent more than ${INFO_LIMITS.chars} characters of info \\(at key "big"\\) in state s\\.w\\.watch`));
  });
});
