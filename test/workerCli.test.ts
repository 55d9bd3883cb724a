import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { ConfigError } from '../common/errors.js';
import { packageRoot } from '../common/packagePaths.js';
import { parseEvent } from '../worker/parseEvent.js';
import { startCli } from './support/runCli.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { workerEventFields } from './support/workerEvent.js';

const ROOT = packageRoot();
const FAKE_KEY = '-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n';

describe('parseEvent', () => {
  it("fills in mu's defaults", () => {
    expect(parseEvent({ command: 'true' })).toEqual({
      mode: 0,
      addr: '127.0.0.1',
      port: 13579,
      bucket: 'file:./xc-store',
      region: 'us-east-1',
      cacert: '',
      wrkcert: '',
      wrkkey: '',
      nonblock: 0,
      bg_silent: 0,
      rm_tmpdir: 1,
      hash_s3keys: 0,
      expect_statefile: 0,
      send_statefile: 0,
      minimal_recode: 0,
      link_tools: 0,
      files_outside_tmpdir: 0,
      idle_timeout_s: 300,
      command: 'true',
    });
  });

  it('accepts an id substituted into a string and flags written as booleans', () => {
    const event = parseEvent({ mode: '1', id: '42', cacert: FAKE_KEY, wrkcert: FAKE_KEY, wrkkey: FAKE_KEY, nonblock: true, rm_tmpdir: false });
    expect(event).toMatchObject({ mode: 1, id: 42, nonblock: 1, rm_tmpdir: 0 });
  });

  it('lists every problem, naming fields but never quoting secrets', () => {
    let error: unknown;
    try {
      parseEvent({ mode: 1, port: 70000, id: -1, wrkkey: 'TOP-SECRET-KEY-MATERIAL', nonblock: 2, idle_timeout_s: 0, command: 5 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const field of ['port', 'id', 'cacert is required', 'wrkcert is required', 'wrkkey must be PEM', 'nonblock', 'idle_timeout_s', 'command must be a string']) {
      expect(message).toContain(field);
    }
    expect(message).not.toContain('TOP-SECRET');
  });

  it('takes state_wait_s, a positive number of seconds a timer can wait, and refuses anything else', () => {
    expect(parseEvent({ command: 'true', state_wait_s: 2.5 }).state_wait_s).toBe(2.5);
    for (const wait of [0, -1, '600', 3e6]) {
      expect(() => parseEvent({ command: 'true', state_wait_s: wait })).toThrow('state_wait_s must be a positive number of seconds, at most 2147483');
    }
  });

  it('rejects non-objects and a mode-0 event without a command', () => {
    expect(() => parseEvent([])).toThrow('must be a JSON object');
    expect(() => parseEvent({ mode: 0 })).toThrow('command is required in mode 0');
  });
});

describe('xc-orch worker (child process)', () => {
  const tempDir = useTempDirs('file');
  let creds: RunCredentials;
  let coordinator: ScriptedCoordinator | undefined;
  let root: string;

  beforeAll(async () => {
    // dist/ is built once by the global setup (test/support/buildDist.ts).
    expect(existsSync(join(ROOT, 'dist/cli/worker.js'))).toBe(true);
    creds = await generateCredentials();
    root = await tempDir('xc-test-cli-');
  });

  afterAll(async () => {
    await coordinator?.close();
  });

  /** Start `xc-orch worker ARGS` with `stdin`, in the test's folder, which is also its TMPDIR (so a test sees what it leaves). */
  const startWorkerCli = (args: string[], stdin: string, env: NodeJS.ProcessEnv = {}) =>
    startCli(['worker', ...args], { cwd: root, env: { ...process.env, TMPDIR: root, ...env }, stdin });
  const runWorkerCli = (args: string[], stdin: string, env: NodeJS.ProcessEnv = {}) => startWorkerCli(args, stdin, env).done;

  it('reads the event from stdin, serves the coordinator and exits 0 on quit:', async () => {
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const event = workerEventFields(creds, coordinator.port, { id: 3 });
    const done = runWorkerCli(['--event', '-'], JSON.stringify(event), { XC_LOG_LEVEL: 'debug' });
    const session = await coordinator.nextSession();
    expect(await session.next()).toBe('OK:HELLO:3');
    await session.play([{ send: 'echo:from a child' }, { send: 'run:command -v png2y4m', expect: 'OK:RETVAL(0)' }, { send: 'quit:', expect: null }]);
    const { code, stderr } = await done;
    expect(code).toBe(0);
    expect(session.frames[1]).toBe('OK:ECHO(from a child)');
    // Debug logs go to stderr, and never carry the key.
    expect(stderr).toContain('connected to the coordinator');
    expect(stderr).not.toContain('PRIVATE KEY');
    expect((await readdir(root)).filter((name) => name.startsWith('xc-worker-'))).toEqual([]);
  });

  it('runs mode 0 from a file and prints the answer', async () => {
    const file = join(root, 'event.json');
    await writeFile(file, JSON.stringify({ mode: 0, command: 'echo once' }));
    const { code, stdout } = await runWorkerCli(['--event', file], '');
    expect(code).toBe(0);
    expect(stdout).toBe('OK:RETVAL(0):OUTPUT(once\n):COMMAND(echo once)\n');
  });

  it('exits 2 on a payload that is not JSON, without echoing it', async () => {
    const { code, stderr } = await runWorkerCli(['--event', '-'], `{"wrkkey": "${FAKE_KEY.replaceAll('\n', '\\n')}", oops}`);
    expect(code).toBe(2);
    expect(stderr).toMatch(/the event in standard input is not valid JSON/);
    expect(stderr).not.toContain('TOP-SECRET');
  });

  it('exits 2 on a missing file, an invalid event or bad usage', async () => {
    const missing = await runWorkerCli(['--event', join(root, 'nope.json')], '');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json');
    const invalid = await runWorkerCli(['--event', '-'], JSON.stringify({ mode: 1, wrkkey: 'TOP-SECRET' }));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('cacert is required');
    expect(invalid.stderr).not.toContain('TOP-SECRET');
    const usage = await runWorkerCli([], '');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing --event');
  });

  it('ends cleanly on SIGTERM, removing its temp dir', async () => {
    coordinator ??= await startScriptedCoordinator({ credentials: creds });
    const event = workerEventFields(creds, coordinator.port);
    const { child, done } = startWorkerCli(['--event', '-'], JSON.stringify(event));
    const session = await coordinator.nextSession();
    await session.next();
    await session.play([{ send: 'echo:ready' }]);
    session.send('run:sleep 30');
    child.kill('SIGTERM');
    const { code, stderr } = await done;
    expect(code).toBe(1);
    expect(stderr).toContain('stopped (stopped)');
    expect((await readdir(root)).filter((name) => name.startsWith('xc-worker-'))).toEqual([]);
  });

  it('exits 1 when the coordinator cannot be reached', async () => {
    const event = workerEventFields(creds, 1);
    const { code, stderr } = await runWorkerCli(['--event', '-'], JSON.stringify(event));
    expect(code).toBe(1);
    expect(stderr).toMatch(/stopped \(connect\)/);
  });
});
