/**
 * Regressions of issue 9 on the worker's side: what a hostile or unlucky setting did to a worker
 * (a timer overflow, unusable TLS material, a full disk), each of which must end in one clear line.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { packageRoot } from '../common/packagePaths.js';
import { MAX_IDLE_TIMEOUT_S, parseEvent } from '../worker/parseEvent.js';
import { runWorker } from '../worker/worker.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';

const BAD_KEY = '-----BEGIN PRIVATE KEY-----\nTOPSECRET\n-----END PRIVATE KEY-----\n';

let creds: RunCredentials;
let root: string;
let coordinator: ScriptedCoordinator | undefined;

beforeAll(async () => {
  creds = await generateCredentials();
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'xc-test-hardening-'));
});

afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
  await rm(root, { recursive: true, force: true });
});

function connectEvent(port: number, extra: Record<string, unknown> = {}) {
  return parseEvent({ mode: 1, addr: '127.0.0.1', port, cacert: creds.caCert, wrkcert: creds.workerCert, wrkkey: creds.workerKey, ...extra });
}

describe('issue 9: idle_timeout_s above what a timer holds (quit right after hello)', () => {
  it('refuses idle_timeout_s past 2^31-1 ms with the bound, and NaN-like values', () => {
    for (const idle of [3e6, MAX_IDLE_TIMEOUT_S + 1, Number.MAX_VALUE]) {
      expect(() => parseEvent({ command: 'true', idle_timeout_s: idle })).toThrow(`idle_timeout_s must be a positive number of seconds, at most ${MAX_IDLE_TIMEOUT_S}`);
    }
    expect(() => parseEvent({ command: 'true', idle_timeout_s: '300' })).toThrow('idle_timeout_s');
  });

  it('honours the largest accepted idle timeout: the worker keeps serving after hello', async () => {
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const exit = runWorker(connectEvent(coordinator.port, { idle_timeout_s: MAX_IDLE_TIMEOUT_S }), { tmpRoot: root });
    const session = await coordinator.nextSession();
    expect(await session.next()).toBe('OK:HELLO');
    // An overflowing timer would fire after 1 ms, well before this round trip ends.
    expect(await session.play([{ send: 'echo:still here' }, { send: 'quit:', expect: null }])).toEqual(['OK:ECHO(still here)']);
    expect(await exit).toMatchObject({ reason: 'quit' });
  });
});

describe('issue 9: a malformed key or certificate in the event (raw stack trace)', () => {
  it('ends with reason connect and one line naming the field, never the key text', async () => {
    const exit = await runWorker(connectEvent(1, { wrkkey: BAD_KEY }), { tmpRoot: root });
    expect(exit).toMatchObject({ reason: 'connect', removedTmpDir: true });
    expect(exit.detail).toMatch(/^wrkkey in the event is not a usable PEM private key: \S/);
    expect(exit.detail).not.toContain('TOPSECRET');
    const badCert = await runWorker(connectEvent(1, { wrkcert: BAD_KEY.replaceAll('PRIVATE KEY', 'CERTIFICATE') }), { tmpRoot: root });
    expect(badCert.detail).toMatch(/^wrkcert in the event is not a usable PEM certificate/);
    const mismatched = await runWorker(connectEvent(1, { wrkkey: creds.serverKey }), { tmpRoot: root });
    expect(mismatched).toMatchObject({ reason: 'connect' });
    expect(mismatched.detail).toMatch(/TLS material is unusable/);
    expect(await readdir(root)).toEqual([]);
  });
});

describe('issue 9: a write failure while making the tool shims (raw stack trace, exit 1)', () => {
  it('exits 1 with one line saying what could not be written, and leaves no temp dir', async () => {
    // A file size limit of 0 makes every write fail (EFBIG), as a full disk (ENOSPC) would;
    // SIGXFSZ is ignored so the write fails instead of killing the process.
    const script = `trap '' XFSZ; ulimit -f 0; exec "$0" "$1" worker --event -`;
    const child = spawn('/bin/sh', ['-c', script, process.execPath, join(packageRoot(), 'bin/xc-orch.js')], {
      env: { ...process.env, TMPDIR: root },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(JSON.stringify({ mode: 0, command: 'true' }));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^xc-orch worker: stopped \(setup\): cannot write the tool shims in \S+: .*(EFBIG|too large)/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(root)).toEqual([]);
  });

  it('ends with reason setup when the temp dir cannot be made', async () => {
    const exit = await runWorker(parseEvent({ command: 'true' }), { tmpRoot: join(root, 'missing') });
    expect(exit).toMatchObject({ reason: 'setup', removedTmpDir: false });
    expect(exit.detail).toMatch(/^cannot make a temp dir in .*missing: .*ENOENT/);
  });
});
