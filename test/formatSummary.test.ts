/** The run summary people read on stdout: its first line counts done chunks, then one line per chunk that is not. */
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../cli/formatSummary.js';
import type { ChunkResult, JobSummary } from '../runtime/coordinator/coordinator.js';

const chunk = (n: number, more: Partial<ChunkResult> = {}): ChunkResult => ({
  chunk: n,
  status: 'done',
  connection: n,
  invocation: n,
  attempts: [],
  outputs: [`v-y4m_06/${n}.y4m`],
  locations: [`/s/v-y4m_06/${n}.y4m`],
  ...more,
});

const summary = (chunks: ChunkResult[], more: Partial<JobSummary> = {}): JobSummary => ({
  ok: chunks.every((c) => c.status === 'done' || c.status === 'skipped'),
  job: 'png2y4m',
  parts: chunks.length,
  units: { name: 'frames', perChunk: 6 },
  seconds: 1.234,
  store: 'file:/s',
  chunks,
  launchFailures: [],
  workerExits: [],
  recovery: { retries: 0, speculative: 0, cancelled: 0 },
  cost: { workerSeconds: 2.4 },
  ...more,
});

describe('formatSummary', () => {
  it('a job done: the count of chunks and of their units, the time, the store, the cost', () => {
    expect(formatSummary(summary([chunk(0), chunk(1)]))).toBe(['done: 2/2 chunks (12 frames) in 1.23 s, store file:/s', '  cost: 2.4 worker-s'].join('\n'));
  });

  it('a resumed job counts the chunks already in the store as done, and says so', () => {
    const skipped = (n: number) => chunk(n, { status: 'skipped', connection: undefined, invocation: undefined, outputs: [], locations: [] });
    expect(formatSummary(summary([skipped(0), skipped(1), chunk(2)])).split('\n')[0]).toBe(
      'done: 3/3 chunks (18 frames; 2 already in the store, not run again) in 1.23 s, store file:/s',
    );
    expect(formatSummary(summary([skipped(0), skipped(1)])).split('\n')[0]).toBe('done: 2/2 chunks (12 frames; 2 already in the store, not run again) in 1.23 s, store file:/s');
  });

  it('a job that failed: how many were done, then every chunk that was not, where and why', () => {
    const text = formatSummary(
      summary([
        chunk(0),
        chunk(1, { status: 'failed', state: 'retrieveLoop.frame.run', reason: 'cancelled while running (interrupted by SIGINT)' }),
        chunk(2, { status: 'missing', connection: undefined, invocation: undefined, reason: 'no worker arrived before the job was cancelled' }),
      ]),
    );
    expect(text.split('\n')).toEqual([
      'FAILED: 1 of 3 chunks done (6 frames) in 1.23 s, store file:/s',
      '  cost: 2.4 worker-s',
      '  chunk 1 (connection 1, invocation 1) failed in retrieveLoop.frame.run: cancelled while running (interrupted by SIGINT)',
      '  chunk 2 (no connection) missing: no worker arrived before the job was cancelled',
    ]);
  });

  it('says what recovery did, and names a launch failure or a worker exit no chunk line names', () => {
    const text = formatSummary(
      summary([chunk(0), chunk(1, { status: 'failed', reason: 'launch of invocation 3 failed: throttled' })], {
        recovery: { retries: 2, speculative: 1, cancelled: 1 },
        launchFailures: [
          { invocation: 3, reason: 'throttled' },
          { invocation: 4, reason: 'no such function' },
        ],
        workerExits: [{ invocation: 0, code: 1, signal: null, detail: 'out of memory' }],
      }),
    );
    expect(text).toContain('  recovery: 2 retries, 1 speculative copies, 1 attempts cancelled (another finished first)');
    expect(text).toContain('  invocation 4: launch failed: no such function');
    expect(text).not.toContain('invocation 3: launch failed');
    expect(text).toContain('  invocation 0: worker process exited with code 1: out of memory');
  });
});
