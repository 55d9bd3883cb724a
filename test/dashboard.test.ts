/**
 * `--dashboard`: the server (counts from the coordinator's status, cells and worker details from
 * observer calls, only changed cells pushed) and, in headless Chromium driven by playwright-core,
 * the page of a real job: counts while waiting, the finished state, a failed chunk's details, and
 * the same counts as the terminal status and the `-O` file at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import type { Coordinator } from '../runtime/coordinator/coordinator.js';
import { startDashboard, type Dashboard, type DashboardSnapshot } from '../runtime/observe/dashboard.js';
import { LocalStore } from '../store/localStore.js';
import { summaryLine, type JobStatus } from '../runtime/observe/statusDisplay.js';
import { seedClip } from '../cli/demo.js';
import { startCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-dashboard-');
});

function get(url: string, options: { headers?: Record<string, string>; method?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: options.headers ?? {}, method: options.method ?? 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A server-sent events client read one event at a time. */
function openEvents(url: string) {
  const queue: Array<{ event: string; data: DashboardSnapshot }> = [];
  const waiting: Array<(e: { event: string; data: DashboardSnapshot }) => void> = [];
  let ended: () => void;
  const end = new Promise<void>((resolve) => (ended = resolve));
  let buffer = '';
  const req = request(url, (res) => {
    res.on('data', (chunk) => {
      buffer += chunk;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const item = { event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as DashboardSnapshot };
        const waiter = waiting.shift();
        if (waiter) waiter(item);
        else queue.push(item);
      }
    });
    res.on('end', () => ended());
  });
  req.end();
  return {
    next: () => new Promise<{ event: string; data: DashboardSnapshot }>((resolve) => (queue.length > 0 ? resolve(queue.shift()!) : waiting.push(resolve))),
    /** Everything still to come, once the server ends the stream. */
    rest: async () => {
      await end;
      return queue.splice(0);
    },
  };
}

describe('dashboard server', () => {
  let status: JobStatus;
  let dashboard: Dashboard;

  beforeEach(async () => {
    status = { elapsedMs: 0, parts: 4, launched: 4, waiting: 4, active: 0, done: 0, failed: 0, skipped: 0, recovery: { retries: 0, speculative: 0, cancelled: 0 }, cost: { workerSeconds: 0 }, chunkStates: [], chunkFailed: [] };
    dashboard = await startDashboard({ parts: 4, offset: 10, framesPerChunk: 6, expected: 5, status: () => status, intervalMs: 20, messageLimit: 3, historyLimit: 4 });
  });
  afterEach(async () => {
    await dashboard.close();
  });

  it('takes the counts from the coordinator status and cells, per-state counts and details from observer calls', async () => {
    dashboard.launch({ type: 'failed', invocation: 4, reason: 'throttled' });
    dashboard.workerMessage(7, 'out', 'set:cmdinfile:x'); // sent while the machine starts, before its first state
    dashboard.workerState(7, 11, 'configure.set_cmdinfile');
    dashboard.workerState(8, 12, 'configure.set_cmdinfile');
    dashboard.workerState(8, 12, 'retrieveLoop.frame.run');
    dashboard.workerState(9, 13, 'configure.set_cmdinfile');
    dashboard.workerEnded(9, 13, 'failed', 'FAIL(no such variable inkey)');
    status = { ...status, waiting: 1, active: 2, failed: 1, recovery: { retries: 1, speculative: 0, cancelled: 0 }, cost: { workerSeconds: 2.5 } };
    const snapshot = dashboard.snapshot();
    expect(snapshot.counts).toEqual({
      parts: 4, expected: 5, waiting: 1, connected: 2, done: 0, failed: 1, skipped: 0, retries: 1, speculative: 0, cancelled: 0, launched: 4, launchFailed: 1,
      cost: { workerSeconds: 2.5 }, costText: '2.5 worker-s',
    });
    expect(snapshot.perState).toEqual([
      ['configure.set_cmdinfile', 1],
      ['retrieveLoop.frame.run', 1],
    ]);
    const cells = snapshot.cells.map(([i, state, kind]) => [i, state < 0 ? null : snapshot.names[state], kind]);
    expect(cells).toEqual([
      [1, 'configure.set_cmdinfile', 'active'],
      [2, 'retrieveLoop.frame.run', 'active'],
      [3, 'configure.set_cmdinfile', 'failed'],
    ]);
    const detail = JSON.parse((await get(`${dashboard.url}api/worker?chunk=13`)).body);
    expect(detail).toMatchObject({ chunk: 13, worker: 9, status: 'failed', reason: 'FAIL(no such variable inkey)' });
    const first = JSON.parse((await get(`${dashboard.url}api/worker?chunk=11`)).body);
    expect(first.messages.map((m: { text: string }) => m.text)).toEqual(['set:cmdinfile:x']);
    expect((await get(`${dashboard.url}api/worker?chunk=10`)).status).toBe(404);
    expect((await get(`${dashboard.url}api/worker?chunk=99`)).status).toBe(404);
    expect((await get(`${dashboard.url}api/worker?chunk=abc`)).status).toBe(404);
  });

  it('keeps a bounded history and the last messages of each worker, oldest first', async () => {
    for (let i = 0; i < 6; i++) dashboard.workerState(3, 10, `s${i}`);
    for (let i = 0; i < 5; i++) dashboard.workerMessage(3, i % 2 === 0 ? 'out' : 'in', `m${i}`);
    dashboard.workerMessage(3, 'in', `OK:RETVAL(0):OUTPUT(${'x'.repeat(600)})`);
    const detail = JSON.parse((await get(`${dashboard.url}api/worker?chunk=10`)).body);
    expect(detail.history.map((h: { state: string }) => h.state)).toEqual(['s2', 's3', 's4', 's5']);
    expect(detail.historyDropped).toBe(2);
    expect(detail.messages.map((m: { text: string }) => m.text.slice(0, 12))).toEqual(['m3', 'm4', 'OK:RETVAL(0)']);
    expect(detail.messages[2].text.length).toBeLessThanOrEqual(501);
  });

  it('pushes a full picture first, then only the cells that changed, and a finished flag at the end', async () => {
    dashboard.workerState(1, 10, 'configure.a');
    const events = openEvents(`${dashboard.url}events`);
    const full = await events.next();
    expect(full.event).toBe('full');
    expect(full.data.cells).toEqual([[0, 0, 'active']]);
    // Nothing changes until the next call, whatever the timing: updates carry counts but no cells
    // (the cell changed before the page connected is in the full picture only if no tick ran yet).
    const idle = await events.next();
    expect(idle.event).toBe('update');
    expect(idle.data.cells.filter(([i]) => i !== 0)).toEqual([]);
    dashboard.workerState(2, 11, 'configure.a');
    const changed: Array<[number, number, string]> = [];
    for (let i = 0; i < 50 && changed.length === 0; i++) changed.push(...(await events.next()).data.cells.filter(([c]) => c !== 0));
    expect(changed).toEqual([[1, 0, 'active']]);
    expect((await events.next()).data.cells).toEqual([]);
    status = { ...status, done: 4, waiting: 0 };
    await dashboard.close();
    const rest = await events.rest();
    expect(rest.at(-1)!.data.finished).toEqual({ ok: true, failures: [] });
  });

  it('answers only requests addressed to it on loopback, and only GET', async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('id="count-waiting"');
    expect(page.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
    expect((await get(dashboard.url, { headers: { host: 'attacker.example:80' } })).status).toBe(403);
    // DNS rebinding (issue 9): names that resolve to loopback, and other loopback addresses, are not this server.
    const port = new URL(dashboard.url).port;
    for (const host of [`127.attacker.example:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, `localhost.attacker.example:${port}`]) {
      expect([host, (await get(dashboard.url, { headers: { host } })).status]).toEqual([host, 403]);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      expect([host, (await get(`${dashboard.url}api/status`, { headers: { host } })).status]).toEqual([host, 200]);
    }
    expect((await get(`${dashboard.url}api/status`, { headers: { origin: 'http://attacker.example' } })).status).toBe(403);
    expect((await get(`${dashboard.url}api/status`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${dashboard.url}nope`)).status).toBe(404);
  });
});

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`dashboard browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`);
}

describe.skipIf(!haveChromium)('dashboard in headless Chromium', () => {
  it('shows the waiting workers, then the finished state, the failed chunk, and the same counts as the status line and -O', async () => {
    const { chromium } = await import('playwright-core');
    const store = new LocalStore(join(dir, 'store'));
    await seedClip(store, 'clip', 6, { width: 32, height: 24 });
    await store.put('clip-png16/00000003.png', Buffer.from('this is not a png')); // chunk 1 fails
    const payload = join(dir, 'payload.json');
    const times = join(dir, 'times.jsonl');
    const options = {
      parts: 3,
      frames: 2,
      video: 'clip',
      bucket: store.name,
      port: 0,
      quiet: true,
      launcher: 'none',
      payloadOut: payload,
      timesFile: times,
      dashboardPort: 0,
    } as const;
    const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1200, height: 800 },
    });
    const workers: ChildProcess[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      let started: (job: { coordinator: Coordinator; dashboardUrl?: string }) => void;
      const ready = new Promise<{ coordinator: Coordinator; dashboardUrl?: string }>((resolve) => (started = resolve));
      const job = runJob(png2y4m, options, { onStart: (info) => started(info) });
      const { coordinator, dashboardUrl } = await ready;
      await page.goto(dashboardUrl!);
      // No worker has been started yet: all three chunks wait.
      await page.locator('#count-waiting', { hasText: /^3$/ }).waitFor({ timeout: WAIT.timeout });
      expect(await page.locator('#job-state').textContent()).toBe('running');
      expect(await page.locator('.cell[data-kind="waiting"]').count()).toBe(3);

      await vi.waitFor(() => stat(payload), WAIT);
      for (let i = 0; i < 3; i++) {
        workers.push(startCli(['worker', '--event', payload]).child);
      }
      const summary = await job;
      expect(summary.ok).toBe(false);

      await page.locator('#job-state[data-state="failed"]').waitFor({ timeout: WAIT.timeout });
      const shown = async (id: string) => Number(await page.locator(`#count-${id}`).textContent());
      const page_ = { waiting: await shown('waiting'), connected: await shown('connected'), done: await shown('done'), failed: await shown('failed') };
      expect(page_).toEqual({ waiting: 0, connected: 0, done: 2, failed: 1 });
      expect(await page.locator('.cell[data-kind="done"]').count()).toBe(2);
      expect(await page.locator('.cell[data-kind="failed"]').getAttribute('data-chunk')).toBe('1');

      // The terminal status line and the -O file say the same.
      const status = coordinator.status();
      expect({ waiting: status.waiting, connected: status.active, done: status.done, failed: status.failed }).toEqual(page_);
      expect(summaryLine(status)).toMatch(/active 0 {2}done 2\/3 {2}not yet connected 0 {2}error 1/);
      const ends = (await readFile(times, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { state: string; chunk: number });
      expect(ends.filter((e) => e.state === 'done')).toHaveLength(page_.done);
      expect(ends.filter((e) => e.state === 'failed').map((e) => e.chunk)).toEqual([1]);

      // A failed chunk's details: its reason, history and last messages, fetched on click.
      await page.locator('.cell[data-chunk="1"]').click();
      await page.locator('#detail-status').waitFor({ timeout: WAIT.timeout });
      const detail = (await page.locator('#detail').textContent()) ?? '';
      expect(detail).toMatch(/failed/);
      expect(detail).toContain('RETVAL(1)');
      expect(detail).toContain('configure.set_cmdinfile');
      expect(detail).toContain('retrieve:');
      expect(detail).not.toMatch(/BEGIN|wrkkey|cacert/);
    } finally {
      await context.close();
      for (const worker of workers) if (worker.exitCode === null) worker.kill();
    }
  });
});
