import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { LocalStore } from '../store/localStore.js';
import { packageBinDir } from '../common/packagePaths.js';
import { BIN_DIR_ENV } from '../worker/binDir.js';
import { parseEvent } from '../worker/parseEvent.js';
import { runWorker, type WorkerExit, type WorkerOptions } from '../worker/worker.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';
import { workerEvent } from './support/workerEvent.js';

// Registered before the afterEach that closes the coordinator, so its cleanup runs after it (hooks unwind in reverse).
const tempDir = useTempDirs();
let creds: RunCredentials;
let otherCreds: RunCredentials;
let root: string;
let tmpRoot: string;
let storeDir: string;
let coordinator: ScriptedCoordinator | undefined;

beforeAll(async () => {
  [creds, otherCreds] = await Promise.all([generateCredentials(), generateCredentials()]);
});

beforeEach(async () => {
  root = await tempDir('xc-test-runtime-');
  tmpRoot = join(root, 'tmp');
  storeDir = join(root, 'store');
  await mkdir(tmpRoot);
  await mkdir(storeDir);
});

afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
});

/** A worker event as the launcher would write it (JSON through parseEvent, so defaults apply). */
function eventFor(port: number, extra: Record<string, unknown> = {}) {
  return workerEvent(creds, port, { id: 7, bucket: `file:${storeDir}`, command: 'cp ##INFILE## ##OUTFILE##', ...extra });
}

async function startWorker(extra: Record<string, unknown> = {}, options: WorkerOptions = {}) {
  coordinator = await startScriptedCoordinator({ credentials: creds });
  const exit = runWorker(eventFor(coordinator.port, extra), { tmpRoot, ...options });
  const session = await coordinator.nextSession();
  return { exit, session };
}

async function workerDirs(): Promise<string[]> {
  return (await readdir(tmpRoot)).filter((name) => name.startsWith('xc-worker-'));
}

describe('runWorker over mutual TLS', () => {
  it('says hello with its id, retrieves, runs, uploads, quits and removes only its temp dir', async () => {
    await new LocalStore(storeDir).put('clip/00000001.png', Buffer.from('pixels'));
    await writeFile(join(tmpRoot, 'not-ours.txt'), 'keep me');
    const { exit, session } = await startWorker();
    expect(await session.next()).toBe('OK:HELLO:7');
    expect(session.peerName).toBe('xc-orch-worker');
    const got = await session.play([
      { send: 'set:inkey:clip/00000001.png' },
      { send: 'set:targfile:##TMPDIR##/00000001.png' },
      { send: 'retrieve:' },
      { send: 'set:cmdinfile:##TMPDIR##/00000001.png' },
      { send: 'set:cmdoutfile:##TMPDIR##/00000000.y4m' },
      { send: 'run:', expect: 'OK:RETVAL(0)' },
      { send: 'set:outkey:out/00000000.y4m' },
      { send: 'set:fromfile:##TMPDIR##/00000000.y4m' },
      { send: 'upload:' },
      { send: 'quit:', expect: null },
    ]);
    const result = await exit;
    expect(got[2]).toBe(`OK:RETRIEVE(file:${storeDir}/clip/00000001.png)`);
    expect(got[5]).toBe(`OK:RETVAL(0):OUTPUT():COMMAND(cp '${result.tmpDir}/00000001.png' '${result.tmpDir}/00000000.y4m')`);
    expect(got[8]).toBe(`OK:UPLOAD(file:${storeDir}/out/00000000.y4m)`);
    expect(result).toMatchObject({ reason: 'quit', commands: 10, removedTmpDir: true });
    expect(await readFile(join(storeDir, 'out/00000000.y4m'), 'utf8')).toBe('pixels');
    expect(existsSync(result.tmpDir)).toBe(false);
    expect(await readdir(tmpRoot)).toEqual(['not-ours.txt']);
    await session.closed;
  });

  it('keeps its temp dir when rm_tmpdir is 0', async () => {
    const { exit, session } = await startWorker({ rm_tmpdir: 0 });
    await session.next();
    await session.play([{ send: 'quit:', expect: null }]);
    const result = await exit;
    expect(result.removedTmpDir).toBe(false);
    expect(existsSync(result.tmpDir)).toBe(true);
  });

  it('finds our png2y4m first on the PATH of run:', async () => {
    const { exit, session } = await startWorker();
    await session.next();
    const [found, shim] = await session.play([
      { send: 'run:command -v png2y4m', expect: 'OK:RETVAL(0)' },
      { send: 'run:cat "$(command -v png2y4m)"', expect: 'OK:RETVAL(0)' },
      { send: 'quit:', expect: null },
    ]);
    const { tmpDir } = await exit;
    expect(found).toMatch(new RegExp(`^OK:RETVAL\\(0\\):OUTPUT\\(${tmpDir}/\\.xc-bin/png2y4m\\n\\)`));
    expect(shim).toContain(`'${join(packageBinDir(), 'png2y4m.js')}' "$@"`);
  });

  it(`takes its tools from ${BIN_DIR_ENV} when set, shimming NAME.js tools`, async () => {
    const bin = join(root, 'bundle-bin');
    await mkdir(bin);
    await writeFile(join(bin, 'greet.js'), "console.log('greet', process.argv.slice(2).join(','));\n");
    await writeFile(join(bin, 'plain'), '#!/bin/sh\necho plain "$@"\n', { mode: 0o755 });
    const { exit, session } = await startWorker({}, { env: { ...process.env, [BIN_DIR_ENV]: bin } });
    await session.next();
    const got = await session.play([
      { send: 'run:greet a b', expect: 'OK:RETVAL(0)' },
      { send: 'run:plain c', expect: 'OK:RETVAL(0)' },
      { send: 'run:command -v png2y4m || echo none', expect: 'OK:RETVAL(0)' },
      { send: 'quit:', expect: null },
    ]);
    await exit;
    expect(got[0]).toBe('OK:RETVAL(0):OUTPUT(greet a,b\n):COMMAND(greet a b)');
    expect(got[1]).toBe('OK:RETVAL(0):OUTPUT(plain c\n):COMMAND(plain c)');
    expect(got[2]).not.toContain(packageBinDir());
  });

  it('keeps serving while a background job runs and reports it when done', async () => {
    const { exit, session } = await startWorker({ nonblock: 1 });
    await session.next();
    session.send('run:sleep 0.2; echo bg');
    session.send('echo:fg');
    expect(await session.next()).toBe('OK:RUNNING(sleep 0.2; echo bg)');
    expect(await session.next()).toBe('OK:ECHO(fg)');
    expect(await session.next()).toBe('OK:RETVAL(0):OUTPUT(bg\n):COMMAND(sleep 0.2; echo bg)');
    session.send('quit:');
    expect((await exit).reason).toBe('quit');
  });

  it('answers a malformed frame with FAIL, hangs up and cleans up', async () => {
    const { exit, session } = await startWorker();
    await session.next();
    session.sendRaw('hello, worker! this is not a frame');
    const result = await exit;
    await session.closed;
    expect(session.frames.at(-1)).toMatch(/^FAIL\(protocol error: malformed frame header "hello, worker"\)$/);
    expect(result).toMatchObject({ reason: 'protocol', removedTmpDir: true });
    expect(result.detail).toContain('malformed frame header');
    expect(await workerDirs()).toEqual([]);
  });

  it('refuses a frame above max_frame_bytes before reading it', async () => {
    const { exit, session } = await startWorker({ max_frame_bytes: 1024 });
    await session.next();
    session.sendRaw('000000002000 ');
    const result = await exit;
    expect(result).toMatchObject({ reason: 'protocol', detail: 'frame of 2000 bytes exceeds the maximum of 1024 bytes' });
    await session.closed;
    expect(session.frames.at(-1)).toBe('FAIL(protocol error: frame of 2000 bytes exceeds the maximum of 1024 bytes)');
  });

  it('exits after the idle timeout, but not while a command is still running', async () => {
    const { exit, session } = await startWorker({ idle_timeout_s: 0.2 });
    await session.next();
    const [answer] = await session.play([{ send: 'run:sleep 0.6; echo late', expect: 'OK:RETVAL(0)' }]);
    expect(answer).toContain('OUTPUT(late\n)');
    const result = await exit;
    expect(result).toMatchObject({ reason: 'idle', commands: 1, removedTmpDir: true });
    await session.closed;
  });

  it('exits when the coordinator hangs up', async () => {
    const { exit, session } = await startWorker();
    await session.next();
    session.end();
    const result = await exit;
    expect(result.reason).toBe('closed');
    expect(await workerDirs()).toEqual([]);
  });

  it('stops on abort: kills the running command and removes its temp dir', async () => {
    const stop = new AbortController();
    const pidFile = join(root, 'pid');
    const { exit, session } = await startWorker({}, { signal: stop.signal });
    await session.next();
    session.send(`run:echo $$ > ${pidFile}; exec sleep 30`);
    const pid = await waitForPid(pidFile);
    stop.abort();
    const result = await exit;
    expect(result).toMatchObject({ reason: 'stopped', removedTmpDir: true });
    expect(isAlive(pid)).toBe(false);
    expect(await workerDirs()).toEqual([]);
  });

  it('refuses a coordinator whose certificate comes from another CA', async () => {
    coordinator = await startScriptedCoordinator({ credentials: otherCreds });
    const result = await runWorker(eventFor(coordinator.port), { tmpRoot });
    expect(result.reason).toBe('connect');
    expect(result.detail).toMatch(/certificate/i);
    expect(coordinator.sessions).toHaveLength(0);
    expect(await workerDirs()).toEqual([]);
  });

  it('refuses a server certificate from the right CA that is not the coordinator', async () => {
    // The worker's own certificate, presented as a server: right CA, wrong name and purpose.
    coordinator = await startScriptedCoordinator({
      credentials: { caCert: creds.caCert, serverCert: creds.workerCert, serverKey: creds.workerKey },
    });
    const result = await runWorker(eventFor(coordinator.port), { tmpRoot });
    expect(result.reason).toBe('connect');
    expect(coordinator.sessions).toHaveLength(0);
  });

  it('is refused by a coordinator when it presents a certificate from another CA', async () => {
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const event = eventFor(coordinator.port, { wrkcert: otherCreds.workerCert, wrkkey: otherCreds.workerKey });
    const result = await runWorker(event, { tmpRoot });
    expect(['connect', 'closed']).toContain(result.reason);
    expect(coordinator.sessions.filter((s) => s.frames.length > 0)).toHaveLength(0);
    expect(coordinator.refusedHandshakes).toBeGreaterThan(0);
  });

  it('reports a refused connection', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const result: WorkerExit = await runWorker(eventFor(port), { tmpRoot });
    expect(result.reason).toBe('connect');
    expect(result.detail).toContain('ECONNREFUSED');
  });
});

describe('runWorker in mode 0', () => {
  it("runs the function's command once and returns mu's answer", async () => {
    const event = parseEvent({ mode: 0, command: 'echo hi ##TMPDIR##', nonblock: 1 });
    const result = await runWorker(event, { tmpRoot });
    expect(result).toMatchObject({ reason: 'ran', removedTmpDir: true });
    expect(result.answer).toBe(`OK:RETVAL(0):OUTPUT(hi ${result.tmpDir}\n):COMMAND(echo hi '${result.tmpDir}')`);
    expect(await workerDirs()).toEqual([]);
  });
});

/** The pid a command wrote to `file`, once it is there. */
function waitForPid(file: string): Promise<number> {
  return vi.waitFor(async () => {
    const text = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (text === '') throw new Error(`no pid in ${file} yet`);
    return Number(text);
  }, WAIT);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
