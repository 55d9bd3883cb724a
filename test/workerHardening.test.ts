/**
 * Regressions of issue 9 on the worker's side: what a hostile or unlucky setting did to a worker
 * (a timer overflow, unusable TLS material, a full disk), each of which must end in one clear line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { packageRoot } from '../common/packagePaths.js';
import { LocalStore } from '../store/localStore.js';
import { IN_PROCESS_ENV } from '../worker/builtinTools.js';
import { createInterpreter } from '../worker/commands.js';
import { MAX_IDLE_TIMEOUT_S, parseEvent } from '../worker/parseEvent.js';
import { runWorker } from '../worker/worker.js';
import { jobFrame } from './support/jobFrame.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';
import { workerEvent } from './support/workerEvent.js';

const BAD_KEY = '-----BEGIN PRIVATE KEY-----\nTOPSECRET\n-----END PRIVATE KEY-----\n';

const tempDir = useTempDirs();
let creds: RunCredentials;
let root: string;
let coordinator: ScriptedCoordinator | undefined;

beforeAll(async () => {
  creds = await generateCredentials();
});

beforeEach(async () => {
  root = await tempDir('xc-test-hardening-');
});

afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
});

describe('issue 9: idle_timeout_s above what a timer holds (quit right after hello)', () => {
  it('refuses idle_timeout_s past 2^31-1 ms with the bound, and NaN-like values', () => {
    for (const idle of [3e6, MAX_IDLE_TIMEOUT_S + 1, Number.MAX_VALUE]) {
      expect(() => parseEvent({ command: 'true', idle_timeout_s: idle })).toThrow(`idle_timeout_s must be a positive number of seconds, at most ${MAX_IDLE_TIMEOUT_S}`);
    }
    expect(() => parseEvent({ command: 'true', idle_timeout_s: '300' })).toThrow('idle_timeout_s');
  });

  it('honours the largest accepted idle timeout: the worker keeps serving after hello', async () => {
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const exit = runWorker(workerEvent(creds, coordinator.port, { idle_timeout_s: MAX_IDLE_TIMEOUT_S }), { tmpRoot: root });
    const session = await coordinator.nextSession();
    expect(await session.next()).toBe('OK:HELLO');
    // An overflowing timer would fire after 1 ms, well before this round trip ends.
    expect(await session.play([{ send: 'echo:still here' }, { send: 'quit:', expect: null }])).toEqual(['OK:ECHO(still here)']);
    expect(await exit).toMatchObject({ reason: 'quit' });
  });
});

describe('issue 9: a malformed key or certificate in the event (raw stack trace)', () => {
  it('ends with reason connect and one line naming the field, never the key text', async () => {
    const exit = await runWorker(workerEvent(creds, 1, { wrkkey: BAD_KEY }), { tmpRoot: root });
    expect(exit).toMatchObject({ reason: 'connect', removedTmpDir: true });
    expect(exit.detail).toMatch(/^wrkkey in the event is not a usable PEM private key: \S/);
    expect(exit.detail).not.toContain('TOPSECRET');
    const badCert = await runWorker(workerEvent(creds, 1, { wrkcert: BAD_KEY.replaceAll('PRIVATE KEY', 'CERTIFICATE') }), { tmpRoot: root });
    expect(badCert.detail).toMatch(/^wrkcert in the event is not a usable PEM certificate/);
    const mismatched = await runWorker(workerEvent(creds, 1, { wrkkey: creds.serverKey }), { tmpRoot: root });
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

/** A folder name a shell would split, unquote and execute if it reached it bare. */
const HOSTILE_NAME = `a b'c"d$(touch PWNED)\`touch PWNED2\``;

describe('issue 9: substituted paths reach the shell unquoted (a TMPDIR with a space fails every frame)', () => {
  it('runs the png2y4m chunk conversation in a temp dir named with a space, quotes and $(...), in-process', async () => {
    const tmpRoot = join(root, HOSTILE_NAME);
    const storeDir = join(root, 'store');
    await mkdir(tmpRoot);
    const store = new LocalStore(storeDir);
    const frames = 3;
    for (let k = 1; k <= frames; k++) await store.put(`clip-png16/${String(k).padStart(8, '0')}.png`, jobFrame(k, 64, 32));
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(chunk.toString())) }));
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const event = workerEvent(creds, coordinator.port, { bucket: `file:${storeDir}`, command: 'png2y4m -i -d -o ##OUTFILE## ##INFILE##', rm_tmpdir: 0 });
    const env = { ...process.env };
    delete env[IN_PROCESS_ENV];
    const exit = runWorker(event, { tmpRoot, logger, env });
    const session = await coordinator.nextSession();
    expect(await session.next()).toBe('OK:HELLO');
    // The job's own conversation (machines/png2y4m.ts), chunk 0.
    const steps = [
      { send: 'set:cmdinfile:##TMPDIR##/%08d.png' },
      { send: 'set:cmdoutfile:##TMPDIR##/00000000.y4m' },
      { send: 'set:fromfile:##TMPDIR##/00000000.y4m' },
      { send: 'set:outkey:clip-y4m_03/00000000.y4m' },
      { send: 'seti:nonblock:0' },
    ];
    for (let k = 1; k <= frames; k++) {
      const png = `${String(k).padStart(8, '0')}.png`;
      steps.push({ send: `set:inkey:clip-png16/${png}` }, { send: `set:targfile:##TMPDIR##/${png}` }, { send: 'retrieve:' }, { send: 'run:', expect: 'OK:RETVAL(0)' } as never);
    }
    steps.push({ send: 'upload:' });
    await session.play(steps);
    session.send('quit:');
    const result = await exit;
    expect(result.reason).toBe('quit');
    const y4m = await readFile(join(storeDir, 'clip-y4m_03/00000000.y4m'));
    expect(y4m.toString('latin1').split('FRAME\n')).toHaveLength(frames + 1);
    // Every frame still converted in the worker's thread, quoting notwithstanding.
    expect(lines.filter((line) => line.includes('run: served in-process'))).toHaveLength(frames);
    for (const file of ['PWNED', 'PWNED2']) {
      expect(existsSync(join(result.tmpDir, file)), file).toBe(false);
      expect(existsSync(join(root, file)), file).toBe(false);
    }
  });

  it("quotes the temp dir and file names bare or inside mu's own quotes, and runs the command as written", async () => {
    const tmpDir = join(root, HOSTILE_NAME);
    await mkdir(tmpDir);
    const answers: string[] = [];
    const interpreter = createInterpreter({ event: {}, tmpDir, onAnswer: (text) => answers.push(text) });
    // mu's xcenc quotes "##TMPDIR##/final.state" and "##TMPDIR##"/comp.txt; its cmdquality is shell text.
    for (const command of [
      'set:cmdinfile:##TMPDIR##/in.y4m',
      'set:cmdquality:--y-ac-qi 30',
      `run:printf '[%s]\\n' ##QUALITY## "##TMPDIR##/final.state" "##TMPDIR##"/comp.txt '##TMPDIR##' ##INFILE## "##INFILE##" "$(printf %s ##TMPDIR##)" "\`printf %s ##TMPDIR##\`" x##OUTFILE## # it's ##TMPDIR##`,
    ]) {
      interpreter.handle(command);
    }
    await interpreter.settled();
    await interpreter.close();
    const output = /OUTPUT\(([^]*)\):COMMAND/.exec(answers[2]!)?.[1];
    const words = ['--y-ac-qi', '30', `${tmpDir}/final.state`, `${tmpDir}/comp.txt`, tmpDir, `${tmpDir}/in.y4m`, `${tmpDir}/in.y4m`, tmpDir, tmpDir, 'x##OUTFILE##'];
    expect(answers[2]).toMatch(/^OK:RETVAL\(0\)/);
    expect(output).toBe(words.map((word) => `[${word}]\n`).join(''));
    expect(existsSync(join(tmpDir, 'PWNED'))).toBe(false);
  });
});

/** Whether `pid` is a live process (a zombie awaiting its reaper counts as gone). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('issue 9: run:CMD & leaves orphan processes after the worker quits', () => {
  const orphan = 'run:sleep 60 > /dev/null 2>&1 & echo $!';
  const pidOf = (answer: string | undefined): number => Number(/^OK:RETVAL\(0\):OUTPUT\((\d+)\n\)/.exec(answer ?? '')?.[1]);

  it('ends what a finished run left in the background when the interpreter closes (quit:)', async () => {
    const answers: string[] = [];
    const interpreter = createInterpreter({ event: {}, tmpDir: root, onAnswer: (text) => answers.push(text) });
    interpreter.handle(orphan);
    // Without a redirection the orphan holds the output pipe: this run only ends when it is killed.
    interpreter.handle('seti:nonblock:1');
    interpreter.handle('run:sleep 60 &');
    await vi.waitFor(() => expect(answers).toHaveLength(3), WAIT);
    const pid = pidOf(answers[0]);
    expect(isRunning(pid)).toBe(true);
    await interpreter.close();
    await vi.waitFor(() => expect(isRunning(pid)).toBe(false), WAIT);
  });

  it('ends them when the connection to the coordinator is lost', async () => {
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const exit = runWorker(workerEvent(creds, coordinator.port), { tmpRoot: root });
    const session = await coordinator.nextSession();
    await session.next();
    const [answer] = await session.play([{ send: orphan, expect: 'OK:RETVAL(0)' }]);
    const pid = pidOf(answer);
    expect(isRunning(pid)).toBe(true);
    session.destroy();
    expect(await exit).toMatchObject({ reason: 'closed' });
    await vi.waitFor(() => expect(isRunning(pid)).toBe(false), WAIT);
  });
});

describe('issue 9: retrieve:/upload: go on after the coordinator has gone', () => {
  it('stops a transfer in progress when the connection is lost, and the worker ends', async () => {
    const storeDir = join(root, 'store');
    await mkdir(join(storeDir, 'clip'), { recursive: true });
    // An object that never finishes arriving: a named pipe whose writer stays open.
    expect(spawnSync('mkfifo', [join(storeDir, 'clip/endless')]).status).toBe(0);
    const writer = open(join(storeDir, 'clip/endless'), 'w');
    try {
      coordinator = await startScriptedCoordinator({ credentials: creds });
      const exit = runWorker(workerEvent(creds, coordinator.port, { bucket: `file:${storeDir}` }), { tmpRoot: root });
      const session = await coordinator.nextSession();
      await session.next();
      session.send('retrieve:clip/endless\0endless');
      await (await writer).write('the first bytes');
      session.destroy();
      expect(await exit).toMatchObject({ reason: 'closed', removedTmpDir: true });
      expect((await readdir(root)).filter((name) => name.startsWith('xc-worker-'))).toEqual([]);
    } finally {
      await (await writer).close();
    }
  });
});

describe('issue 9: worker paths (targfile, fromfile, KEY\\0FILE) may point anywhere on its disk', () => {
  async function setup(event: Record<string, unknown> = {}) {
    const tmpDir = join(root, 'tmp');
    const outside = join(root, 'outside');
    const storeDir = join(root, 'store');
    await Promise.all([tmpDir, outside, storeDir].map((dir) => mkdir(dir)));
    await new LocalStore(storeDir).put('k', Buffer.from('object'));
    await writeFile(join(outside, 'secret'), 'not for upload');
    await symlink(outside, join(tmpDir, 'link'));
    await symlink(join(outside, 'secret'), join(tmpDir, 'secret-link'));
    const answers: string[] = [];
    const interpreter = createInterpreter({ event: { bucket: `file:${storeDir}`, ...event }, tmpDir, onAnswer: (text) => answers.push(text) });
    const send = async (...commands: string[]) => {
      const from = answers.length;
      for (const command of commands) interpreter.handle(command);
      await interpreter.settled();
      return answers.slice(from);
    };
    return { tmpDir, outside, storeDir, send, close: () => interpreter.close() };
  }

  it('keeps retrieve: and upload: files inside the temp dir, symlinks followed, by default', async () => {
    const t = await setup();
    const targets = [join(t.outside, 'dropped'), '../outside/dropped', 'link/dropped', '##TMPDIR##/../outside/dropped'];
    for (const target of targets) {
      const [answer] = await t.send(`retrieve:k\0${target}`);
      expect(answer, target).toMatch(/^FAIL\(retrieving .*: \S+ is outside the worker's temp dir \(the event's files_outside_tmpdir: 1 allows it\)\)$/);
    }
    expect(await t.send('set:targfile:link/dropped', 'set:inkey:k', 'retrieve:')).toEqual(['OK:SET(targfile)', 'OK:SET(inkey)', expect.stringMatching(/^FAIL\(retrieving .*outside the worker's temp dir/)]);
    for (const source of [join(t.outside, 'secret'), 'secret-link', 'link/secret']) {
      const [answer] = await t.send(`upload:leak\0${source}`);
      expect(answer, source).toMatch(/^FAIL\(uploading .*outside the worker's temp dir/);
    }
    expect(await readdir(t.outside)).toEqual(['secret']);
    expect(await readdir(t.storeDir)).toEqual(['k']);
    // Inside, by relative or ##TMPDIR## names, all is as before.
    expect(await t.send('retrieve:k\0in', 'retrieve:k\0##TMPDIR##/in2', 'upload:back\0in')).toEqual([
      expect.stringMatching(/^OK:RETRIEVE\(/),
      expect.stringMatching(/^OK:RETRIEVE\(/),
      expect.stringMatching(/^OK:UPLOAD\(/),
    ]);
    await t.close();
  });

  it('allows files anywhere when the event says files_outside_tmpdir: 1', async () => {
    const t = await setup({ files_outside_tmpdir: 1 });
    expect(await t.send(`retrieve:k\0${join(t.outside, 'dropped')}`, 'upload:leak\0secret-link')).toEqual([
      expect.stringMatching(/^OK:RETRIEVE\(/),
      expect.stringMatching(/^OK:UPLOAD\(/),
    ]);
    expect(await readFile(join(t.outside, 'dropped'), 'utf8')).toBe('object');
    expect(await readFile(join(t.storeDir, 'leak'), 'utf8')).toBe('not for upload');
    await t.close();
  });

  it('reads files_outside_tmpdir from the event as a flag, off by default', () => {
    expect(parseEvent({ command: 'true' }).files_outside_tmpdir).toBe(0);
    expect(parseEvent({ command: 'true', files_outside_tmpdir: true }).files_outside_tmpdir).toBe(1);
    expect(() => parseEvent({ command: 'true', files_outside_tmpdir: 'yes' })).toThrow('files_outside_tmpdir must be 0 or 1');
  });
});
