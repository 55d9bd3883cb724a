import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { COORDINATOR_NAME, generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { invocationPayload, type Launcher, type LaunchReport, type LaunchRequest } from '../runtime/launch/launcher.js';
import { createLocalLauncher, defaultWorkerCommand, type LocalLauncherOptions } from '../runtime/launch/localLauncher.js';
import { createNoneLauncher } from '../runtime/launch/noneLauncher.js';
import { createWorkerServer, type WorkerConnection, type WorkerServer } from '../runtime/coordinator/workerServer.js';
import type { WorkerEvent } from '../worker/event.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';
import { workerEvent } from './support/workerEvent.js';
import { ConfigError } from '../common/errors.js';

const FAKE_WORKER = fileURLToPath(new URL('./support/launcherFakeWorker.mjs', import.meta.url));

const tempDir = useTempDirs('file');
let creds: RunCredentials;
let dir: string;
const launchers: Launcher[] = [];
const servers: WorkerServer[] = [];

beforeAll(async () => {
  creds = await generateCredentials();
  dir = await tempDir('xc-launcher-');
});

afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A launch request's event; `extra` is added after parsing, since the fake worker reads fields a worker ignores (`note`). */
function event(port = 1, extra: Partial<WorkerEvent> & Record<string, unknown> = {}): WorkerEvent {
  return { ...workerEvent(creds, port, { bucket: 'file:./nowhere', srvname: COORDINATOR_NAME }), ...extra };
}

function fakeLauncher(mode: string, options: LocalLauncherOptions = {}): Launcher {
  const launcher = createLocalLauncher({ command: { file: process.execPath, args: [FAKE_WORKER, mode] }, ...options });
  launchers.push(launcher);
  return launcher;
}

function requests(count: number, make: (i: number) => WorkerEvent = () => event()): LaunchRequest[] {
  return Array.from({ length: count }, (_, i) => ({ invocation: i, event: make(i) }));
}

function collector() {
  const reports: LaunchReport[] = [];
  const exited = (invocation: number) =>
    reports.find((r): r is Extract<LaunchReport, { type: 'exited' }> => r.type === 'exited' && r.invocation === invocation);
  return { reports, report: (r: LaunchReport) => reports.push(r), exited };
}

describe('invocationPayload', () => {
  it('sets the id and replaces ##ID## everywhere', () => {
    const text = invocationPayload({ invocation: 12, event: event(1, { args: '-o out-##ID##.y4m', id: 3 }) });
    const parsed = JSON.parse(text) as WorkerEvent;
    expect(parsed.id).toBe(12);
    expect(parsed.args).toBe('-o out-12.y4m');
  });
});

describe('local launcher', () => {
  it('starts workers that connect over mutual TLS and say hello with their invocation', async () => {
    const admitted: WorkerConnection[] = [];
    const server = await createWorkerServer({ host: '127.0.0.1', port: 0, credentials: creds, onHello: (c) => admitted.push(c) });
    servers.push(server);
    const { reports, report, exited } = collector();
    // These workers stay until told to quit, so all three must be alive at once.
    const launcher = fakeLauncher('hello', { concurrency: 2, maxAlive: 3 });
    await launcher.launch(requests(3, () => event(server.address().port)), report);
    expect(reports.filter((r) => r.type === 'accepted').map((r) => r.invocation).sort()).toEqual([0, 1, 2]);
    await vi.waitFor(() => expect(admitted).toHaveLength(3), WAIT);
    expect(admitted.map((c) => c.invocation).sort()).toEqual([0, 1, 2]);
    for (const c of admitted) c.send('quit:');
    await vi.waitFor(() => expect([0, 1, 2].map(exited).every((r) => r?.code === 0)).toBe(true), WAIT);
  });

  it('passes the payload on stdin with the id filled in, and the environment through', async () => {
    const { report, exited } = collector();
    const launcher = fakeLauncher('report', { env: { ...process.env, XC_FAKE_MARK: 'inherited' } });
    await launcher.launch([{ invocation: 5, event: event(1, { note: 'chunk-##ID##' }) }], report);
    await vi.waitFor(() => expect(exited(5)).toBeDefined(), WAIT);
    expect(exited(5)).toEqual({ type: 'exited', invocation: 5, code: 0, signal: null, detail: 'id=5 note=chunk-5 mark=inherited' });
  });

  it('reports a worker that dies with its exit code and the tail of its stderr', async () => {
    const { reports, report, exited } = collector();
    await fakeLauncher('crash').launch(requests(1), report);
    expect(reports[0]).toEqual({ type: 'accepted', invocation: 0 });
    await vi.waitFor(() => expect(exited(0)).toBeDefined(), WAIT);
    expect(exited(0)).toMatchObject({ code: 3, signal: null, detail: 'fake worker 0: cannot find png2y4m on PATH' });
  });

  it('keeps only a bounded tail of a noisy stderr', async () => {
    const { report, exited } = collector();
    await fakeLauncher('noisy', { stderrTailBytes: 256 }).launch(requests(1), report);
    await vi.waitFor(() => expect(exited(0)).toBeDefined(), WAIT);
    const detail = exited(0)!.detail;
    expect(exited(0)!.code).toBe(1);
    expect(detail.endsWith('the last line')).toBe(true);
    expect(detail.startsWith('...')).toBe(true);
    expect(Buffer.byteLength(detail)).toBeLessThanOrEqual(256 + 3);
  });

  it('reports a worker program that cannot be started as failed', async () => {
    const { reports, report } = collector();
    const launcher = createLocalLauncher({ command: { file: join(dir, 'no-such-program'), args: [] } });
    launchers.push(launcher);
    await launcher.launch(requests(2), report);
    expect(reports).toHaveLength(2);
    for (const r of reports) expect(r).toMatchObject({ type: 'failed', reason: expect.stringMatching(/^cannot start worker: .*ENOENT/) });
  });

  it('stop() terminates running workers, escalating to SIGKILL, and resolves when they are gone', async () => {
    const ready = join(dir, 'ready');
    await rm(ready, { recursive: true, force: true });
    await mkdir(ready);
    const { report, exited } = collector();
    const env = { ...process.env, XC_FAKE_READY_DIR: ready };
    const polite = fakeLauncher('sleep', { env, killGraceMs: 300 });
    const stubborn = fakeLauncher('stubborn', { env, killGraceMs: 300 });
    await polite.launch([{ invocation: 0, event: event() }], report);
    await stubborn.launch([{ invocation: 1, event: event() }], report);
    await vi.waitFor(() => expect(existsSync(join(ready, '0')) && existsSync(join(ready, '1'))).toBe(true), WAIT);
    await Promise.all([polite.stop(), stubborn.stop()]);
    expect(exited(0)).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(exited(1)).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(exited(1)!.detail).toContain('ignoring SIGTERM');
  });

  it('launches nothing more after stop()', async () => {
    const { reports, report } = collector();
    const launcher = fakeLauncher('sleep', { concurrency: 1 });
    await launcher.stop();
    await launcher.launch(requests(2), report);
    expect(reports).toEqual([
      { type: 'failed', invocation: 0, reason: 'launcher stopped' },
      { type: 'failed', invocation: 1, reason: 'launcher stopped' },
    ]);
  });

  it('reports each worker accepted, then started, once it runs', async () => {
    const { reports, report, exited } = collector();
    await fakeLauncher('report').launch(requests(2), report);
    await vi.waitFor(() => expect(exited(0) && exited(1)).toBeTruthy(), { timeout: 15_000 });
    for (const invocation of [0, 1]) {
      expect(reports.filter((r) => r.invocation === invocation).map((r) => r.type)).toEqual(['accepted', 'started', 'exited']);
    }
  });

  it('runs the package worker by default', () => {
    const { file, args } = defaultWorkerCommand();
    expect(file).toBe(process.execPath);
    expect(args.slice(1)).toEqual(['worker', '--event', '-']);
    expect(existsSync(args[0]!)).toBe(true);
  });
});

describe('local launcher as a pool', () => {
  /** Alive workers after each report: one more on `started`, one fewer on `exited` or a failed start. */
  function peakAlive(reports: LaunchReport[]): number {
    let alive = 0;
    let peak = 0;
    for (const r of reports) {
      if (r.type === 'started') peak = Math.max(peak, ++alive);
      else if (r.type === 'exited') alive--;
    }
    return peak;
  }

  async function aliveDir(name: string): Promise<string> {
    const path = join(dir, name);
    await rm(path, { recursive: true, force: true });
    await mkdir(path);
    return path;
  }

  it('runs 40 requests with at most maxAlive: 2 workers alive at once, every one of them', { timeout: 120_000 }, async () => {
    const alive = await aliveDir('alive-40');
    const { reports, report, exited } = collector();
    const launcher = fakeLauncher('pool', { maxAlive: 2, env: { ...process.env, XC_FAKE_ALIVE_DIR: alive } });
    await launcher.launch(requests(40), report);
    const all = Array.from({ length: 40 }, (_, i) => i);
    await vi.waitFor(() => expect(all.every((i) => exited(i) !== undefined)).toBe(true), { timeout: 100_000, interval: 200 });
    expect(all.map((i) => exited(i)!.code)).toEqual(all.map(() => 0));
    // Seen from the launcher (reports in order) and from the workers themselves (files in one dir).
    const seen = all.map((i) => Number(/alive=(\d+)/.exec(exited(i)!.detail)![1]));
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
    expect(peakAlive(reports)).toBe(2);
    expect(reports.filter((r) => r.type === 'started').map((r) => r.invocation)).toEqual(all);
  });

  it('takes more requests while it runs (retries, copies) into the same pool', { timeout: 60_000 }, async () => {
    const alive = await aliveDir('alive-more');
    const { reports, report, exited } = collector();
    const launcher = fakeLauncher('pool', { maxAlive: 2, env: { ...process.env, XC_FAKE_ALIVE_DIR: alive } });
    const first = launcher.launch(requests(4), report);
    const more = launcher.launch([{ invocation: 4, event: event() }, { invocation: 5, event: event() }], report);
    await Promise.all([first, more]);
    await vi.waitFor(() => expect([0, 1, 2, 3, 4, 5].every((i) => exited(i)?.code === 0)).toBe(true), { timeout: 50_000, interval: 200 });
    expect(peakAlive(reports)).toBe(2);
  });

  it('fails requests still queued when stopped, and ends the running ones', { timeout: 30_000 }, async () => {
    const ready = await aliveDir('ready-stop');
    const { reports, report, exited } = collector();
    const launcher = fakeLauncher('sleep', { maxAlive: 1, killGraceMs: 300, env: { ...process.env, XC_FAKE_READY_DIR: ready } });
    const launched = launcher.launch(requests(3), report);
    await vi.waitFor(() => expect(existsSync(join(ready, '0'))).toBe(true), { timeout: 15_000 });
    await launcher.stop();
    await launched;
    expect(exited(0)).toMatchObject({ signal: 'SIGTERM' });
    expect(reports.filter((r) => r.type === 'failed')).toEqual([
      { type: 'failed', invocation: 1, reason: 'launcher stopped' },
      { type: 'failed', invocation: 2, reason: 'launcher stopped' },
    ]);
  });

  it('refuses a pool size that is not a positive integer', () => {
    expect(() => createLocalLauncher({ maxAlive: 0 })).toThrow('local workers must be a positive integer (got 0)');
    expect(() => createLocalLauncher({ maxAlive: 1.5 })).toThrow(ConfigError);
  });
});

describe('none launcher', () => {
  it('writes the payload without an id, mode 0600, and accepts every invocation', async () => {
    const file = join(dir, 'payload.json');
    await writeFile(file, 'old', { mode: 0o644 });
    const { reports, report } = collector();
    await createNoneLauncher({ payloadFile: file }).launch(requests(3, () => event(4242, { id: 9 })), report);
    expect(reports).toEqual([0, 1, 2].map((invocation) => ({ type: 'accepted', invocation })));
    const written = JSON.parse(await readFile(file, 'utf8')) as WorkerEvent;
    expect(written.id).toBeUndefined();
    expect(written.port).toBe(4242);
    expect(written.wrkkey).toBe(creds.workerKey);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('writes the payload it was given', async () => {
    const file = join(dir, 'given.json');
    const { report } = collector();
    await createNoneLauncher({ payloadFile: file, payload: event(7) }).launch(requests(1), report);
    expect((JSON.parse(await readFile(file, 'utf8')) as WorkerEvent).port).toBe(7);
  });

  it('reports every invocation failed when the file cannot be written', async () => {
    const { reports, report } = collector();
    await createNoneLauncher({ payloadFile: join(dir, 'missing-dir', 'p.json') }).launch(requests(2), report);
    expect(reports).toHaveLength(2);
    for (const r of reports) expect(r).toMatchObject({ type: 'failed', reason: expect.stringContaining('cannot write the payload file') });
  });
});
