/**
 * png2y4m served in-process by the worker (worker/builtinTools.ts): the same answers, files and
 * deletions as the process it replaces, and the shell path kept for everything else. Most tests
 * run twin interpreters over identical folders, one with the in-process tools and one without,
 * and compare what they answer and leave on disk; both use the real shim and the real tool.
 * Needs `npm run build` (the shim and the thread run dist/).
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ditherPlan } from '../png2y4m/ditherPlan.js';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { LocalStore } from '../store/localStore.js';
import { compileLambdaizeOptions, packageEntries } from '../runtime/lambda/lambdaize.js';
import { packageBinDir } from '../common/packagePaths.js';
import { pathWithBin, writeToolShims } from '../worker/binDir.js';
import { createBuiltinTools, findOnPath, IN_PROCESS_ENV, plainWords, png2y4mInvocation, type BuiltinTools } from '../worker/builtinTools.js';
import { createInterpreter, type Interpreter } from '../worker/commands.js';
import { createDitherPlanCache } from '../worker/ditherPlanCache.js';
import { runWorker } from '../worker/worker.js';
import { jobFrame } from './support/jobFrame.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';
import { workerEvent } from './support/workerEvent.js';

const BIN = packageBinDir();
const STUB_THREAD = new URL('./support/stubToolThread.mjs', import.meta.url);
const BROKEN_THREAD = new URL('./support/brokenToolThread.mjs', import.meta.url);

const name = (k: number): string => `${String(k).padStart(8, '0')}.png`;

const tempDir = useTempDirs();
let root: string;
let closers: Array<() => Promise<void>> = [];
/** A job-sized frame (1024x436), made once: converting it takes long enough to overlap other work. */
let bigFrame: Buffer;

beforeAll(() => {
  // The shim and the thread run dist/, built once by the global setup (test/support/buildDist.ts).
  const ROOT = dirname(BIN);
  expect(['dist/worker/png2y4mThread.js', 'dist/png2y4m/main.js'].every((file) => existsSync(join(ROOT, file)))).toBe(true);
  bigFrame = jobFrame(9, 1024, 436);
});

beforeEach(async () => {
  root = await tempDir('xc-test-builtin-');
});

afterEach(async () => {
  await Promise.all(closers.map((close) => close()));
  closers = [];
});

interface Side {
  dir: string;
  tools: BuiltinTools | undefined;
  /** Our png2y4m shim, as the worker writes it. */
  shim: string;
  interpreter: Interpreter;
  /** The environment its commands run with (our shim's folder on PATH). */
  env: NodeJS.ProcessEnv;
  /** Send commands; resolves the answers they produced once the interpreter is idle. */
  send(...commands: string[]): Promise<string[]>;
  /** `run:COMMAND`'s answer. */
  run(command: string): Promise<string>;
}

interface SideOptions {
  /** Serve png2y4m in-process (default true). */
  inProcess?: boolean;
  threadEntry?: URL;
  /** Folders before our shim on PATH. */
  pathFirst?: string[];
  env?: Record<string, string>;
}

/** A worker-like temp dir (shim folder first on PATH) and an interpreter serving it. */
async function side(label: string, options: SideOptions = {}): Promise<Side> {
  const dir = join(root, label);
  const shimDir = join(dir, '.xc-bin');
  await mkdir(shimDir, { recursive: true });
  await writeToolShims(BIN, shimDir);
  const shim = join(shimDir, 'png2y4m');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, PATH: pathWithBin([...(options.pathFirst ?? []), shimDir, BIN], process.env.PATH) };
  if (options.env?.[IN_PROCESS_ENV] === undefined) delete env[IN_PROCESS_ENV];
  const tools = options.inProcess === false ? undefined : createBuiltinTools({ png2y4mPath: shim, ...(options.threadEntry ? { threadEntry: options.threadEntry } : {}) });
  const answers: string[] = [];
  const interpreter = createInterpreter({ event: {}, tmpDir: dir, onAnswer: (text) => answers.push(text), env, ...(tools ? { builtinTools: tools } : {}) });
  closers.push(() => interpreter.close());
  const send = async (...commands: string[]): Promise<string[]> => {
    const from = answers.length;
    for (const command of commands) interpreter.handle(command);
    await interpreter.settled();
    return answers.slice(from);
  };
  return { dir, tools, shim, interpreter, env, send, run: async (command) => (await send(`run:${command}`))[0]! };
}

/** One side converting in-process, one running the process, over identical folders. */
async function twins(options: Omit<SideOptions, 'inProcess'> = {}) {
  const [inProcess, process_] = await Promise.all([side('in-process', options), side('process', { ...options, inProcess: false })]);
  const put = async (file: string, data: Buffer | string) => {
    await Promise.all([writeFile(join(inProcess.dir, file), data), writeFile(join(process_.dir, file), data)]);
  };
  /** Run on both; expect the same answer (the folder's path written as DIR) and return it. */
  const both = async (command: string): Promise<string> => {
    const [a, b] = await Promise.all([inProcess.run(command), process_.run(command)]);
    expect(a.replaceAll(inProcess.dir, 'DIR')).toBe(b.replaceAll(process_.dir, 'DIR'));
    return a;
  };
  /** Both folders hold the same files (sub-folders included) with the same bytes. */
  const sameFiles = async () => {
    const list = async (dir: string): Promise<string[]> => {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
        .filter((file) => !file.startsWith('.xc-bin'))
        .sort();
    };
    const names = await list(inProcess.dir);
    expect(names).toEqual(await list(process_.dir));
    for (const file of names) {
      expect((await readFile(join(inProcess.dir, file))).equals(await readFile(join(process_.dir, file))), file).toBe(true);
    }
    return names;
  };
  return { inProcess, process: process_, put, both, sameFiles };
}

const served = (s: Side): number => s.tools!.status().served;

describe('png2y4m in-process: the same result as the process', () => {
  it('converts frame after frame with -i -d (the job pattern) byte for byte, in one thread', async () => {
    const t = await twins();
    for (let k = 1; k <= 4; k++) await t.put(name(k), jobFrame(k, 96, 64));
    for (let k = 1; k <= 4; k++) {
      const answer = await t.both(`png2y4m -i -d -o out.y4m ${name(k)}`);
      expect(answer).toBe(`OK:RETVAL(0):OUTPUT(1 frames, 96x64\n${name(k)}\n):COMMAND(png2y4m -i -d -o out.y4m ${name(k)})`);
    }
    expect(await t.sameFiles()).toEqual(['out.y4m']); // inputs deleted, one header, four frames
    const y4m = await readFile(join(t.inProcess.dir, 'out.y4m'));
    expect(y4m.toString('latin1').split('FRAME\n')).toHaveLength(5);

    // Other shapes and modes, absolute names, a directory mask: the plan cache must not mix them up.
    await t.put('odd.png', jobFrame(5, 97, 63));
    await t.put(name(9), jobFrame(9, 96, 64));
    await mkdir(join(t.inProcess.dir, 'seq'));
    await mkdir(join(t.process.dir, 'seq'));
    for (let k = 1; k <= 3; k++) await t.put(`seq/${name(k)}`, jobFrame(20 + k, 97, 63));
    await t.both('png2y4m -i -o ##TMPDIR##/odd.y4m odd.png');
    await t.both('png2y4m --chroma-444 -o odd444.y4m ##TMPDIR##/odd.png');
    await t.both('png2y4m -i -d -o out.y4m 00000009.png');
    await t.both('png2y4m --no-dither -f 30 -F 1001 -o seq.y4m seq/%08d.png');
    await t.both('png2y4m --chroma-422 -o seq422.y4m ./seq/%08d.png');
    await t.sameFiles();
    expect(served(t.inProcess)).toBe(9);
    expect(t.inProcess.tools!.status().thread).toMatchObject({ state: 'idle', threadsStarted: 1, runs: 9, crashes: 0 });
  });

  it('fails like the process on corrupt, missing and unwritable files (RETVAL 1, the same output and deletions)', async () => {
    const t = await twins();
    const good = jobFrame(3, 32, 16);
    const idat = good.indexOf('IDAT');
    const badCrc = Buffer.from(good);
    badCrc.writeUInt8(badCrc.readUInt8(idat + 20) ^ 0xff, idat + 20);
    await t.put('truncated.png', good.subarray(0, good.length >> 1));
    await t.put('badcrc.png', badCrc);
    await t.put('text.png', 'not a png\n');
    await t.put('good.png', good);
    const failures = [
      'png2y4m -i -d -o out.y4m truncated.png',
      'png2y4m -o out.y4m badcrc.png',
      'png2y4m -i -d -o out.y4m text.png',
      'png2y4m -i -d -o out.y4m missing.png',
      'png2y4m -d -o no/such/dir/out.y4m good.png',
      'png2y4m -o out.y4m',
      'png2y4m --chroma-4 -o out.y4m good.png',
    ];
    for (const command of failures) expect(await t.both(command)).toMatch(/^OK:RETVAL\(1\):OUTPUT\(.+\n\):COMMAND/s);
    expect(await t.both('png2y4m -h')).toMatch(/^OK:RETVAL\(0\):OUTPUT\(Usage: png2y4m \[options\] <input>\n/);
    await t.sameFiles();
    expect(served(t.inProcess)).toBe(failures.length + 1);
  });

  it('reads POSIXLY_CORRECT from the run environment, as the process does', async () => {
    const t = await twins({ env: { POSIXLY_CORRECT: '1' } });
    await t.put('in.png', jobFrame(1, 16, 8));
    // Option parsing stops at the first operand, so -o is an operand here: no output named.
    expect(await t.both('png2y4m in.png -o out.y4m')).toContain('No output file specified');
    await t.sameFiles();
    expect(served(t.inProcess)).toBe(1);
  });
});

describe('png2y4m in-process: what still goes to the shell', () => {
  it('recognises only plain word lists starting with png2y4m, without stdin or stdout', () => {
    expect(plainWords('  png2y4m\t-i -d -o /tmp/w/out.y4m /tmp/w/%08d.png ')).toEqual(['png2y4m', '-i', '-d', '-o', '/tmp/w/out.y4m', '/tmp/w/%08d.png']);
    // Quoted and escaped text, as the worker quotes paths (worker/shellQuote.ts), is literal.
    expect(plainWords(`png2y4m -o "out x.y4m" 'a b'/'it'\\''s $(x)'/%08d.png out\\ x ''`)).toEqual(['png2y4m', '-o', 'out x.y4m', "a b/it's $(x)/%08d.png", 'out x', '']);
    for (const command of [
      'png2y4m -o out.y4m in.png > log',
      'png2y4m -o out.y4m in.png 2>&1',
      'png2y4m -o "$OUT" in.png',
      'png2y4m -o "a\\"b" in.png',
      "png2y4m -o 'unterminated in.png",
      'png2y4m -o out.y4m in.png\\',
      'png2y4m -o $OUT in.png',
      'png2y4m -o out.y4m *.png',
      'png2y4m -o out.y4m in?.png',
      'png2y4m -o ~/out.y4m in.png',
      'png2y4m -o out.y4m in.png; rm in.png',
      'png2y4m -o out.y4m in.png | cat',
      'png2y4m -o out.y4m in.png &',
      'png2y4m -o out.y4m in.png\nrm in.png',
      'png2y4m -o out.y4m #comment',
      'png2y4m -o $(echo out).y4m in.png',
      'png2y4m -o out.y4m {a,b}.png',
      'png2y4m -o out.y4m dé.png',
      '',
    ]) {
      expect(plainWords(command), command).toBeUndefined();
    }
    expect(png2y4mInvocation('png2y4m -i -d -o out.y4m in.png', {})).toEqual(['png2y4m', '-i', '-d', '-o', 'out.y4m', 'in.png']);
    expect(png2y4mInvocation('/usr/bin/png2y4m -o out.y4m in.png', {})).toBeUndefined();
    expect(png2y4mInvocation('cp a.png b.png', {})).toBeUndefined();
    for (const stdio of ['png2y4m -o - in.png', 'png2y4m -o- in.png', 'png2y4m --output=- in.png', 'png2y4m -io- in.png', 'png2y4m -o out.y4m -']) {
      expect(png2y4mInvocation(stdio, {}), stdio).toBeUndefined();
    }
    // With POSIXLY_CORRECT, `-o -` after the operand is no option: nothing goes to stdout.
    expect(png2y4mInvocation('png2y4m in.png -o -', { POSIXLY_CORRECT: '1' })).toBeDefined();
  });

  it('runs commands with shell syntax, or using stdio, as processes, with the same answers as before', async () => {
    const t = await twins();
    const png = jobFrame(2, 16, 8);
    const commands = [
      'png2y4m -o out.y4m in.png 2>&1 | tr a-z A-Z',
      'png2y4m -o "$PWD/quoted.y4m" in.png',
      'png2y4m -o - in.png > piped.y4m',
      'png2y4m -o stdin.y4m - < in.png',
      'png2y4m -o glob.y4m i*.png',
      'OUT=var.y4m; png2y4m -o $OUT in.png',
    ];
    for (const command of commands) {
      await t.put('in.png', png);
      expect(await t.both(command)).toMatch(/^OK:RETVAL\(0\)/);
    }
    await t.sameFiles();
    expect(served(t.inProcess)).toBe(0);
    expect(t.inProcess.tools!.status().thread.state).toBe('stopped'); // never even started
  });

  it('respects a png2y4m earlier on PATH, a replaced shim and XC_PNG2Y4M_INPROCESS=0', async () => {
    const mine = join(root, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'png2y4m'), '#!/bin/sh\necho "mine: $*"\n', { mode: 0o755 });
    const user = await side('user', { pathFirst: [mine] });
    expect(await user.run('png2y4m -i -d -o out.y4m in.png')).toBe('OK:RETVAL(0):OUTPUT(mine: -i -d -o out.y4m in.png\n):COMMAND(png2y4m -i -d -o out.y4m in.png)');
    expect(served(user)).toBe(0);

    // A png2y4m the shell would skip (not executable) does not hide ours, for the shell or for us.
    await chmod(join(mine, 'png2y4m'), 0o644);
    await writeFile(join(user.dir, 'in.png'), jobFrame(1, 16, 8));
    expect(await user.run('png2y4m -o out.y4m in.png')).toMatch(/^OK:RETVAL\(0\):OUTPUT\(1 frames, 16x8\nin.png\n\)/);
    expect(served(user)).toBe(1);

    // Our shim's file rewritten with something else: that something else runs.
    await writeFile(user.shim, '#!/bin/sh\necho "replaced: $*"\n');
    expect(await user.run('png2y4m -o out.y4m in.png')).toBe('OK:RETVAL(0):OUTPUT(replaced: -o out.y4m in.png\n):COMMAND(png2y4m -o out.y4m in.png)');
    expect(served(user)).toBe(1);

    const off = await side('off', { env: { [IN_PROCESS_ENV]: '0' } });
    await writeFile(join(off.dir, 'in.png'), jobFrame(1, 16, 8));
    expect(await off.run('png2y4m -i -d -o out.y4m in.png')).toBe('OK:RETVAL(0):OUTPUT(1 frames, 16x8\nin.png\n):COMMAND(png2y4m -i -d -o out.y4m in.png)');
    expect(existsSync(join(off.dir, 'out.y4m'))).toBe(true);
    expect(served(off)).toBe(0);
  });

  it("starts the thread ahead of the first run for a worker whose command is png2y4m, and for no other", async () => {
    const job = await side('prepared');
    await job.tools!.prepare('png2y4m -i -d -o ##OUTFILE## ##INFILE##', { env: job.env, cwd: job.dir });
    await vi.waitFor(() => expect(job.tools!.status().thread).toMatchObject({ state: 'idle', threadsStarted: 1, runs: 0 }), WAIT);
    await writeFile(join(job.dir, 'in.png'), jobFrame(1, 16, 8));
    expect(await job.run('png2y4m -i -d -o out.y4m in.png')).toMatch(/^OK:RETVAL\(0\)/);
    expect(job.tools!.status().thread).toMatchObject({ threadsStarted: 1, runs: 1 });

    const mine = join(root, 'mine-prepared');
    await mkdir(mine);
    await writeFile(join(mine, 'png2y4m'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const others = [
      [await side('vpxenc-job'), 'vpxenc --codec=vp8 -o ##OUTFILE## ##INFILE##'],
      [await side('no-command'), undefined],
      [await side('not-in-process', { env: { [IN_PROCESS_ENV]: '0' } }), 'png2y4m -i -d -o ##OUTFILE## ##INFILE##'],
      [await side('their-png2y4m', { pathFirst: [mine] }), 'png2y4m -i -d -o ##OUTFILE## ##INFILE##'],
    ] as const;
    for (const [other, command] of others) {
      await other.tools!.prepare(command, { env: other.env, cwd: other.dir });
      expect(other.tools!.status().thread, String(command)).toMatchObject({ state: 'stopped', threadsStarted: 0 });
    }
  });

  it('finds commands on PATH the way the shell does', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    await mkdir(join(a, 'tool'), { recursive: true }); // a folder named like the command
    await mkdir(b);
    await writeFile(join(b, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    expect(await findOnPath('tool', `${a}:${b}`, root)).toBe(join(b, 'tool'));
    expect(await findOnPath('tool', `:a:b`, root)).toBe(join(b, 'tool')); // relative entries are in cwd
    expect(await findOnPath('tool', a, root)).toBeUndefined();
    expect(await findOnPath('tool', undefined, root)).toBeUndefined();
  });
});

describe('png2y4m in-process: the thread', () => {
  it('answers a crashed or exited thread like a failed process and starts a new one for the next run', async () => {
    const stub = await side('stub', { threadEntry: STUB_THREAD });
    expect(await stub.run('png2y4m crash')).toBe('OK:RETVAL(1):OUTPUT(png2y4m: in-process run failed: stub thread crashed on purpose\n):COMMAND(png2y4m crash)');
    expect(await stub.run('png2y4m a b')).toBe('OK:RETVAL(0):OUTPUT(stub a b\n):COMMAND(png2y4m a b)');
    expect(await stub.run('png2y4m exit')).toBe('OK:RETVAL(1):OUTPUT(png2y4m: in-process run failed: thread exited with code 7\n):COMMAND(png2y4m exit)');
    expect(await stub.run('png2y4m c')).toBe('OK:RETVAL(0):OUTPUT(stub c\n):COMMAND(png2y4m c)');
    expect(stub.tools!.status().thread).toMatchObject({ state: 'idle', threadsStarted: 3, runs: 4, crashes: 2 });
  });

  it('keeps serving while the thread hangs: echo is answered, the next frame runs as a process, close() ends it', async () => {
    const stub = await side('hang', { threadEntry: STUB_THREAD });
    await writeFile(join(stub.dir, 'in.png'), jobFrame(1, 16, 8));
    const answers: string[] = [];
    const interpreter = createInterpreter({
      event: { nonblock: 1 },
      tmpDir: stub.dir,
      onAnswer: (text) => answers.push(text),
      env: { PATH: pathWithBin([join(stub.dir, '.xc-bin'), BIN], process.env.PATH) },
      builtinTools: stub.tools!,
    });
    interpreter.handle('run:png2y4m hang');
    interpreter.handle('echo:still here');
    // Background runs race for the thread; let the hanging one hold it before the next frame.
    await vi.waitFor(() => expect(stub.tools!.status().thread.state).toBe('busy'), WAIT);
    interpreter.handle('run:png2y4m -o out.y4m in.png');
    await vi.waitFor(() => expect(answers).toHaveLength(4), WAIT);
    expect(answers).toEqual([
      'OK:RUNNING(png2y4m hang)',
      'OK:ECHO(still here)',
      'OK:RUNNING(png2y4m -o out.y4m in.png)',
      'OK:RETVAL(0):OUTPUT(1 frames, 16x8\nin.png\n):COMMAND(png2y4m -o out.y4m in.png)', // the real tool, as a process
    ]);
    expect(stub.tools!.status()).toMatchObject({ served: 0, thread: { state: 'busy' } });
    await interpreter.close();
    expect(stub.tools!.status().thread.state).toBe('closed');
    expect(answers).toHaveLength(4); // nothing after close
  });

  it('falls back to the process when the thread cannot start, and stops trying', async () => {
    const broken = await side('broken', { threadEntry: BROKEN_THREAD });
    for (const k of [1, 2]) {
      await writeFile(join(broken.dir, name(k)), jobFrame(k, 16, 8));
      expect(await broken.run(`png2y4m -i -d -o out.y4m ${name(k)}`)).toBe(`OK:RETVAL(0):OUTPUT(1 frames, 16x8\n${name(k)}\n):COMMAND(png2y4m -i -d -o out.y4m ${name(k)})`);
    }
    expect(broken.tools!.status()).toMatchObject({ served: 0, thread: { state: 'broken', threadsStarted: 1 } });
  });

  it('close() during a conversion terminates the thread and answers nothing more', async () => {
    const s = await side('abort');
    await writeFile(join(s.dir, 'big.png'), bigFrame);
    const answers: string[] = [];
    const interpreter = createInterpreter({
      event: { nonblock: 1 },
      tmpDir: s.dir,
      onAnswer: (text) => answers.push(text),
      env: { PATH: pathWithBin([join(s.dir, '.xc-bin'), BIN], process.env.PATH) },
      builtinTools: s.tools!,
    });
    interpreter.handle('run:png2y4m -o out.y4m big.png');
    await vi.waitFor(() => expect(s.tools!.status().thread.state).toBe('busy'), WAIT);
    await interpreter.close();
    expect(answers).toEqual(['OK:RUNNING(png2y4m -o out.y4m big.png)']);
    expect(s.tools!.status().thread.state).toBe('closed');
  });

  it('keeps dither plans per shape, the last two shapes only', () => {
    const computed: string[] = [];
    const plans = createDitherPlanCache(2, (w, h, chroma) => {
      computed.push(`${w}x${h}:${chroma}`);
      return ditherPlan(w, h, chroma);
    });
    const first = plans.get(8, 4, '420');
    expect(plans.get(8, 4, '420')).toBe(first);
    expect(first).toEqual(ditherPlan(8, 4, '420'));
    plans.get(8, 4, '444');
    plans.get(8, 4, '420'); // a hit makes it the most recent
    plans.get(6, 2, '420'); // so 8x4:444 is dropped
    expect(plans.shapes()).toEqual(['8x4:420', '6x2:420']);
    plans.get(8, 4, '444');
    expect(computed).toEqual(['8x4:420', '8x4:444', '6x2:420', '8x4:444']);
  });
});

describe('png2y4m in-process in the worker over mutual TLS', () => {
  let creds: RunCredentials;
  let coordinator: ScriptedCoordinator | undefined;
  beforeAll(async () => {
    creds = await generateCredentials();
  });
  afterEach(async () => {
    await coordinator?.close();
    coordinator = undefined;
  });

  it('answers echo: while a job-sized frame converts in background mode, then its RETVAL', async () => {
    const storeDir = join(root, 'store');
    const tmpRoot = join(root, 'tmp');
    await mkdir(tmpRoot);
    await new LocalStore(storeDir).put('clip/big.png', bigFrame);
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    coordinator = await startScriptedCoordinator({ credentials: creds });
    const event = workerEvent(creds, coordinator.port, { id: 3, bucket: `file:${storeDir}`, nonblock: 1 });
    const env = { ...process.env };
    delete env[IN_PROCESS_ENV];
    const exit = runWorker(event, { tmpRoot, logger, env });
    const session = await coordinator.nextSession();
    expect(await session.next()).toBe('OK:HELLO:3');
    session.send('retrieve:clip/big.png\0big.png');
    expect(await session.next()).toMatch(/^OK:RETRIEVING/);
    expect(await session.next()).toMatch(/^OK:RETRIEVE\(/);
    session.send('run:png2y4m -i -d -o ##TMPDIR##/out.y4m ##TMPDIR##/big.png');
    expect(await session.next()).toMatch(/^OK:RUNNING\(png2y4m -i -d -o \S+\/out\.y4m \S+\/big\.png\)$/);
    session.send('echo:while converting');
    expect(await session.next()).toBe('OK:ECHO(while converting)');
    expect(await session.next()).toMatch(/^OK:RETVAL\(0\):OUTPUT\(1 frames, 1024x436\nbig\.png\n\):COMMAND/);
    session.send('quit:');
    const result = await exit;
    expect(result.reason).toBe('quit');
    expect(lines.some((line) => line.includes('run: served in-process'))).toBe(true);
  });
});

describe('png2y4m in-process in the Lambda bundle', () => {
  it('finds the bundled thread next to index.mjs and converts like the process', async () => {
    const { entries } = await packageEntries(compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, outDir: root, name: 'inproc' }));
    const taskRoot = join(root, 'task');
    for (const entry of entries) {
      await mkdir(dirname(join(taskRoot, entry.name)), { recursive: true });
      await writeFile(join(taskRoot, entry.name), entry.data, { mode: entry.executable ? 0o755 : 0o644 });
    }
    await writeFile(join(root, 'in.png'), jobFrame(4, 40, 30));
    await writeFile(join(root, 'ref.png'), jobFrame(4, 40, 30));
    // Mode 0 runs the package's own command, `png2y4m -i -d -o ##OUTFILE## ##INFILE##`, once.
    const script = `const { handler } = await import(${JSON.stringify(join(taskRoot, 'index.mjs'))});
      const result = await handler({ mode: 0, infile: ${JSON.stringify(join(root, 'in.png'))}, outfile: ${JSON.stringify(join(root, 'out.y4m'))} });
      process.stdout.write(JSON.stringify(result));`;
    const env: NodeJS.ProcessEnv = { ...process.env, LAMBDA_TASK_ROOT: taskRoot, XC_LOG_LEVEL: 'debug' };
    delete env[IN_PROCESS_ENV];
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: taskRoot, env, timeout: 60_000 });
    const result = JSON.parse(child.stdout.toString()) as { ok: boolean; answer: string };
    expect(result.ok).toBe(true);
    expect(result.answer).toBe(`OK:RETVAL(0):OUTPUT(1 frames, 40x30\nin.png\n):COMMAND(png2y4m -i -d -o '${join(root, 'out.y4m')}' '${join(root, 'in.png')}')`);
    expect(child.stderr.toString(), child.stderr.toString()).toContain("run: served in-process");
    expect(existsSync(join(root, 'in.png'))).toBe(false);
    const reference = spawnSync(process.execPath, [join(BIN, 'png2y4m.js'), '-i', '-d', '-o', 'ref.y4m', 'ref.png'], { cwd: root });
    expect(reference.status).toBe(0);
    expect((await readFile(join(root, 'out.y4m'))).equals(await readFile(join(root, 'ref.y4m')))).toBe(true);
  });
});
