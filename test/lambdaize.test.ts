/**
 * `xc-orch lambdaize`: the zip (bundle, manifest, bin/, lib/, modes, limits), the executable
 * checks, and the deployed function running a real worker against a scripted coordinator,
 * through the fake Lambda on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as runLambdaizeCli, parseLambdaizeArgs } from '../cli/lambdaize.js';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { ConfigError } from '../common/errors.js';
import {
  BUILTIN_COMMANDS,
  buildPackage,
  checkSizeLimits,
  compileLambdaizeOptions,
  inspectExecutable,
  lambdaize,
  parseLdd,
} from '../runtime/lambda/lambdaize.js';
import { createLambdaLauncher } from '../runtime/launch/lambdaLauncher.js';
import { IN_PROCESS_ENV } from '../worker/builtinTools.js';
import { decodeFrame } from '../png2y4m/frameDecoding.js';
import { startFrameThreads } from '../png2y4m/frameThreads.js';
import type { LaunchReport } from '../runtime/launch/launcher.js';
import { MANIFEST_FILE } from '../worker/lambdaHandler.js';
import { readZip, startHandlerProcess, startLambdaFixture, unpackZip, type LambdaFixture } from './support/lambdaFixture.js';
import { encodePng } from './support/pngEncoder.js';
import { startScriptedCoordinator, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { captureOutput } from './support/captureOutput.js';
import { useTempDirs } from './support/tempDirs.js';
import { workerEvent } from './support/workerEvent.js';

const ROLE = 'arn:aws:iam::123456789012:role/xc-orch-test';
const ls = '/bin/ls';
const lsInfo = await inspectExecutable(ls);
const tempDir = useTempDirs('file');
let dir: string;
let credentials: RunCredentials;
let fixture: LambdaFixture | undefined;
let coordinator: ScriptedCoordinator | undefined;

beforeAll(async () => {
  dir = await tempDir('xc-lambdaize-test-');
  credentials = await generateCredentials();
});
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  await coordinator?.close();
  coordinator = undefined;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** Invocation `id`'s event, its store the test's folder; a short idle timeout, so a worker left behind ends soon. */
function functionEvent(port: number, id: number, extra: Record<string, unknown> = {}) {
  return workerEvent(credentials, port, { id, bucket: `file:${dir}`, idle_timeout_s: 20, ...extra });
}

/** A minimal ELF64 x86_64 file: header and one program header, PT_INTERP when `interpreter` is set. */
function fakeElf(interpreter?: string): Buffer {
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(62, 18); // x86_64
  header.writeBigUInt64LE(64n, 32); // e_phoff
  header.writeUInt16LE(56, 54); // e_phentsize
  header.writeUInt16LE(1, 56); // e_phnum
  const phdr = Buffer.alloc(56);
  const text = Buffer.from(`${interpreter ?? ''}\0`);
  phdr.writeUInt32LE(interpreter ? 3 : 1, 0);
  phdr.writeBigUInt64LE(120n, 8);
  phdr.writeBigUInt64LE(BigInt(text.byteLength), 32);
  return Buffer.concat([header, phdr, text]);
}

describe('lambdaize packaging', () => {
  it('packs the built-in png2y4m: bundle, wrapper, manifest, modes, and the same bytes twice', async () => {
    const options = compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, outDir: dir, name: 'png2y4m-pack' });
    const built = await buildPackage(options);
    expect(built.zipPath).toBe(join(dir, 'png2y4m-pack.zip'));
    const zip = await readFile(built.zipPath);
    expect(zip.byteLength).toBe(built.zippedBytes);
    const entries = new Map((await readZip(zip)).map((entry) => [entry.name, entry]));
    expect([...entries.keys()].sort()).toEqual(['bin/png2y4m', 'index.mjs', 'png2y4m.mjs', 'png2y4mFrameThread.mjs', 'png2y4mThread.mjs', MANIFEST_FILE]);
    expect(entries.get('bin/png2y4m')!.mode).toBe(0o755);
    // The wrapper runs a bundle that is in the zip (running it is the test further down).
    const bundled = /"\$\(dirname "\$0"\)\/\.\.\/([^"]+)"/.exec(entries.get('bin/png2y4m')!.data.toString())?.[1];
    expect([...entries.keys()]).toContain(bundled);
    expect(entries.get('index.mjs')!.mode).toBe(0o644);
    expect(entries.get('index.mjs')!.data.toString()).toMatch(/export\s*\{[^}]*handler/);
    expect(JSON.parse(entries.get(MANIFEST_FILE)!.data.toString())).toEqual({ version: 1, command: BUILTIN_COMMANDS.png2y4m, builtin: 'png2y4m' });
    const again = await buildPackage(options);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(await readFile(again.zipPath))).toBe(sha(zip));
  });

  it('uses the command the coordinator sends for png2y4m', async () => {
    const { PNG2Y4M_COMMAND } = await import('../jobs/png2y4m.js');
    expect(BUILTIN_COMMANDS.png2y4m).toBe(PNG2Y4M_COMMAND);
  });

  it('tells static from dynamic executables and scripts, and refuses anything else', async () => {
    const staticElf = join(dir, 'static-tool');
    const dynamicElf = join(dir, 'dynamic-tool');
    await writeFile(staticElf, fakeElf(), { mode: 0o755 });
    await writeFile(dynamicElf, fakeElf('/lib64/ld-linux-x86-64.so.2'), { mode: 0o755 });
    expect(await inspectExecutable(staticElf)).toEqual({ kind: 'elf', dynamic: false, arch: 'x86_64', machine: 62 });
    expect(await inspectExecutable(dynamicElf)).toEqual({ kind: 'elf', dynamic: true, interpreter: '/lib64/ld-linux-x86-64.so.2', arch: 'x86_64', machine: 62 });
    const script = join(dir, 'tool.sh');
    await writeFile(script, '#!/bin/sh\necho hi\n', { mode: 0o755 });
    expect(await inspectExecutable(script)).toEqual({ kind: 'script', interpreter: '/bin/sh' });
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'just text, long enough to be read as a header of sorts, really, yes, quite long indeed');
    await expect(inspectExecutable(text)).rejects.toThrow(/neither an ELF executable nor a #! script/);
    const truncated = join(dir, 'truncated');
    await writeFile(truncated, fakeElf().subarray(0, 80));
    await expect(inspectExecutable(truncated)).rejects.toThrow(/malformed ELF/);
    await expect(inspectExecutable(join(dir, 'missing'))).rejects.toThrow(/cannot read executable/);
  });

  it('packs a static executable with its command template and extra files', async () => {
    const tool = join(dir, 'encoder');
    const extra = join(dir, 'helper.sh');
    const data = join(dir, 'table.dat');
    await writeFile(tool, fakeElf(), { mode: 0o755 });
    await writeFile(extra, '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(data, 'data', { mode: 0o644 });
    const built = await buildPackage(
      compileLambdaizeOptions({ executable: tool, preArgs: 'nice -n 5', postArgs: '-o ##OUTFILE## ##INFILE##', extraFiles: [extra, data], skipUpload: true, outDir: dir, name: 'enc' }),
    );
    expect(built.manifest).toEqual({ version: 1, command: 'nice -n 5 encoder -o ##OUTFILE## ##INFILE##' });
    const entries = new Map((await readZip(await readFile(built.zipPath))).map((entry) => [entry.name, entry.mode]));
    expect(entries.get('bin/encoder')).toBe(0o755);
    expect(entries.get('bin/helper.sh')).toBe(0o755);
    expect(entries.get('bin/table.dat')).toBe(0o644);
  });

  // A static ls has nothing to show here: the test says it is skipped rather than passing.
  it.skipIf(lsInfo.kind !== 'elf' || !lsInfo.dynamic)('refuses a dynamically linked executable unless --allow-dynamic, which packs its libraries', async () => {
    await expect(buildPackage(compileLambdaizeOptions({ executable: ls, skipUpload: true, outDir: dir, name: 'ls-refused' }))).rejects.toThrow(
      /ls is dynamically linked \(loader .*\).*--allow-dynamic/,
    );
    const built = await buildPackage(compileLambdaizeOptions({ executable: ls, allowDynamic: true, skipUpload: true, outDir: dir, name: 'ls-dynamic' }));
    expect(built.manifest).toEqual({ version: 1, command: 'ls', libDir: 'lib' });
    const expected = parseLdd(execFileSync('ldd', [ls], { encoding: 'utf8' })).map((library) => `lib/${library.name}`);
    const names = built.entries.map((entry) => entry.name);
    for (const name of expected) expect(names).toContain(name);
    expect(names.some((name) => /^lib\/(libc\.so|ld-linux)/.test(name))).toBe(false);
    expect(built.warnings.join()).toMatch(/dynamically linked: packed \d+ shared librar/);

    // The handler puts lib/ on LD_LIBRARY_PATH for the packed command (mode 0: run it once).
    const taskRoot = join(dir, 'ls-root');
    await unpackZip(await readFile(built.zipPath), taskRoot);
    const event = { ...functionEvent(1, 0), mode: 0, command: 'echo "libs=$LD_LIBRARY_PATH"; ls / > /dev/null && echo listed' };
    const result = await startHandlerProcess(taskRoot, 'index.handler', Buffer.from(JSON.stringify(event)), {}).result;
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { ok: boolean; answer: string };
    expect(answer.ok).toBe(true);
    expect(answer.answer).toContain(`libs=${join(taskRoot, 'lib')}`);
    expect(answer.answer).toContain('listed');
  });

  it('parses ldd output, skipping the C library and the loader, and names missing libraries', () => {
    const text = [
      '\tlinux-vdso.so.1 (0x00007ffc)',
      '\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f01)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)',
      '\tlibpthread.so.0 => /lib/x86_64-linux-gnu/libpthread.so.0 (0x00007f03)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f04)',
      '\tlibvpx.so.7 => /usr/lib/libvpx.so.7 (0x00007f05)',
    ].join('\n');
    expect(parseLdd(text)).toEqual([
      { name: 'libselinux.so.1', path: '/lib/x86_64-linux-gnu/libselinux.so.1' },
      { name: 'libvpx.so.7', path: '/usr/lib/libvpx.so.7' },
    ]);
    expect(() => parseLdd(`${text}\n\tlibgone.so.2 => not found\n`)).toThrow(/shared libraries not found: libgone\.so\.2/);
  });

  it("checks Lambda's size limits", () => {
    const small = { zippedBytes: 10, unzippedBytes: 20 };
    expect(checkSizeLimits(small, { upload: true })).toEqual([]);
    expect(() => checkSizeLimits({ zippedBytes: 10, unzippedBytes: 251 * 1024 * 1024 }, { upload: false })).toThrow(/unpacks to 251\.0 MiB, over Lambda's 250\.0 MiB/);
    expect(() => checkSizeLimits({ zippedBytes: 51 * 1024 * 1024, unzippedBytes: 60 * 1024 * 1024 }, { upload: true })).toThrow(/51\.0 MiB, over the 50\.0 MiB limit.*through S3/);
    expect(checkSizeLimits({ zippedBytes: 51 * 1024 * 1024, unzippedBytes: 60 * 1024 * 1024 }, { upload: false })).toEqual([
      'the zip is 51.0 MiB, over the 50.0 MiB limit of a direct upload: upload it through S3',
    ]);
  });

  it('refuses bad options with clear messages', () => {
    expect(() => compileLambdaizeOptions({})).toThrow(/EXECUTABLE.*--builtin/);
    expect(() => compileLambdaizeOptions({ builtin: 'vpxenc' as 'png2y4m', skipUpload: true })).toThrow(/--builtin must be one of png2y4m/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m' }, {})).toThrow(/--role \(or env AWS_ROLE\)/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', role: 'admin' }, {})).toThrow(/IAM role ARN/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, memoryMb: 64 })).toThrow(/--memory/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, timeoutS: 901 })).toThrow(/--timeout/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, name: 'bad name' })).toThrow(/--name/);
    const compiled = compileLambdaizeOptions({ builtin: 'png2y4m' }, { AWS_ROLE: ROLE, AWS_REGION: 'eu-west-1' });
    expect(compiled).toMatchObject({ role: ROLE, region: 'eu-west-1', memoryMb: 1536, timeoutS: 180, runtime: 'nodejs22.x' });
    expect(compiled.name).toMatch(/^png2y4m-[0-9a-f]{8}$/);
    expect(compiled.functions).toEqual([compiled.name]);
    expect(compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, name: 'f', copies: 2 }).functions).toEqual(['f-0', 'f-1']);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, copies: 0 })).toThrow(/copies must be a whole number from 1 to 100, got 0/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, copies: 101 })).toThrow(/from 1 to 100, got 101/);
    expect(() => compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, name: 'x'.repeat(62), copies: 11 })).toThrow(/--name must be 1-64 .*\(its copy suffix included\)/);
    const long = compileLambdaizeOptions({ executable: `/opt/${'a'.repeat(80)}`, skipUpload: true, copies: 100 });
    expect(long.functions.at(-1)).toMatch(/^a+-[0-9a-f]{8}-99$/);
    expect(long.functions.at(-1)).toHaveLength(64);
    expect(() => parseLambdaizeArgs(['--copies', 'five', '--builtin', 'png2y4m'])).toThrow(/--copies expects a whole number/);
    expect(() => parseLambdaizeArgs(['--builtin', 'png2y4m', 'extra'])).toThrow(ConfigError);
    expect(parseLambdaizeArgs(['--memory', '512', 'tool', '', '-o ##OUTFILE## ##INFILE##', 'a', '-b'])).toMatchObject({
      memoryMb: 512,
      executable: 'tool',
      preArgs: '',
      postArgs: '-o ##OUTFILE## ##INFILE##',
      extraFiles: ['a', '-b'],
    });
    expect(parseLambdaizeArgs(['--skip-upload', '--', '-tool'])).toMatchObject({ skipUpload: true, executable: '-tool' });
    expect(() => parseLambdaizeArgs(['--bogus', 'tool'])).toThrow(/unknown option '--bogus'/);
  });
});

describe('lambdaize --builtin png2y4m --skip-upload', () => {
  const out = () => join(dir, 'cli-out');
  const taskRoot = () => join(dir, 'cli-root');
  let cli: { code: number; printed: string };

  beforeAll(async () => {
    const { code, stdout } = await captureOutput(() => runLambdaizeCli(['--builtin', 'png2y4m', '--skip-upload', '--out', out(), '--name', 'png2y4m-cli']));
    cli = { code, printed: stdout };
    if (cli.code === 0) await unpackZip(await readFile(join(out(), 'png2y4m-cli.zip')), taskRoot());
  });

  it('writes the zip and prints where, creating nothing', () => {
    expect(cli.code).toBe(0);
    const result = JSON.parse(cli.printed) as { zip: string; functions?: unknown; command: string };
    expect(result.zip).toBe(join(out(), 'png2y4m-cli.zip'));
    expect(result.functions).toBeUndefined();
    expect(result.command).toBe(BUILTIN_COMMANDS.png2y4m);
  });

  it('packs a decoding thread that decodes a frame as the main thread does', async () => {
    const shape = { width: 6, height: 4 };
    const png = encodePng({ width: 6, height: 4, bitDepth: 8, colorType: 2, pixels: Array.from({ length: 24 }, (_, p) => [p * 10, 255 - p * 9, (p * 37) % 256]) });
    const threads = startFrameThreads(1, pathToFileURL(join(taskRoot(), 'png2y4mFrameThread.mjs')));
    try {
      const decoded = await threads!.decode(0, 1, png, shape);
      expect(decoded.kind).toBe('decoded');
      expect(decoded).toEqual(decodeFrame(png, shape));
    } finally {
      await threads?.close();
    }
  });

  // Issue 15: a bin/png2y4m wrapper pointing at a missing bundle passed when the test looked only
  // at `echo`'s status and the command echoed back. The tool's own status and usage text must
  // come back, in-process and, with XC_PNG2Y4M_INPROCESS=0, through the shell and the wrapper.
  for (const [how, env] of [
    ['as the worker chooses', {}],
    ['through the shell and bin/png2y4m (XC_PNG2Y4M_INPROCESS=0)', { [IN_PROCESS_ENV]: '0' }],
  ] as const) {
    it(`runs a real worker whose packed png2y4m answers, ${how}`, async () => {
      coordinator = await startScriptedCoordinator({ credentials, timeoutMs: 15_000 });
      const handlerRun = startHandlerProcess(taskRoot(), 'index.handler', Buffer.from(JSON.stringify(functionEvent(coordinator.port, 3))), env);
      const session = await coordinator.nextSession();
      expect(await session.next()).toBe('OK:HELLO:3');
      const [echo, found, help] = await session.play([{ send: 'echo:from lambda' }, { send: 'run:command -v png2y4m' }, { send: 'run:png2y4m --help' }]);
      expect(echo).toBe('OK:ECHO(from lambda)');
      expect(found).toBe(`OK:RETVAL(0):OUTPUT(${join(taskRoot(), 'bin', 'png2y4m')}\n):COMMAND(command -v png2y4m)`);
      expect(help).toMatch(/^OK:RETVAL\(0\):OUTPUT\(Usage: png2y4m \[options\] <input>\n\nConverts a PNG, or a numbered sequence of PNGs, to a YUV4MPEG2 stream\n/);
      expect(help).toMatch(/\):COMMAND\(png2y4m --help\)$/);
      session.send('quit:');
      const ended = await handlerRun.result;
      expect(ended.code, ended.stderr).toBe(0);
      expect(JSON.parse(ended.stdout)).toMatchObject({ ok: true, reason: 'quit', commands: 4 });
    });
  }

  it('returns a bad event as a result instead of throwing (Lambda would retry a throw)', async () => {
    const built = await buildPackage(compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true, outDir: dir, name: 'png2y4m-bad' }));
    const taskRoot = join(dir, 'bad-root');
    await unpackZip(await readFile(built.zipPath), taskRoot);
    const ended = await startHandlerProcess(taskRoot, 'index.handler', Buffer.from(JSON.stringify({ mode: 1, port: 'x' })), {}).result;
    expect(ended.code, ended.stderr).toBe(0);
    const result = JSON.parse(ended.stdout) as { ok: boolean; reason: string; detail: string };
    expect(result).toMatchObject({ ok: false, reason: 'bad-event' });
    expect(result.detail).toMatch(/port/);
  });
});

describe('lambda handler', () => {
  it('returns bad-package, without throwing, when the task root has no manifest', async () => {
    const empty = await mkdtemp(join(dir, 'empty-root-'));
    vi.stubEnv('LAMBDA_TASK_ROOT', empty);
    vi.stubEnv('XC_LOG_LEVEL', 'silent');
    const { handler } = await import('../worker/lambdaHandler.js');
    const result = await handler(functionEvent(1, 0));
    expect(result).toMatchObject({ ok: false, reason: 'bad-package' });
    expect(result.detail).toMatch(/xc-orch-lambda\.json/);
  });

  it('runs mode 0 with the manifest command when the event brings none', async () => {
    const root = await mkdtemp(join(dir, 'mode0-root-'));
    await writeFile(join(root, MANIFEST_FILE), JSON.stringify({ version: 1, command: 'echo packed-command' }));
    vi.stubEnv('LAMBDA_TASK_ROOT', root);
    vi.stubEnv('XC_LOG_LEVEL', 'silent');
    const { handler } = await import('../worker/lambdaHandler.js');
    const result = await handler({ ...functionEvent(1, 0), mode: 0 });
    expect(result).toMatchObject({ ok: true, reason: 'ran' });
    expect(result.answer).toBe('OK:RETVAL(0):OUTPUT(packed-command\n):COMMAND(echo packed-command)');
  });
});

describe('lambdaize against the fake Lambda', () => {
  it('creates the function, waits until Active, prints its description, and Invokes start workers', async () => {
    fixture = await startLambdaFixture({ mode: 'run', activationDelayMs: 200 });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLAMBDAIZE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'lambdaize-secret');
    const result = await lambdaize({ builtin: 'png2y4m', role: ROLE, region: 'eu-west-1', endpoint: fixture.endpoint, outDir: dir, memoryMb: 2048 }, process.env);
    expect(result.functions).toHaveLength(1);
    expect(result.functions![0]).toMatchObject({
      FunctionName: expect.stringMatching(/^png2y4m-[0-9a-f]{8}$/),
      State: 'Active',
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Role: ROLE,
      MemorySize: 2048,
      Timeout: 180,
      CodeSize: result.zippedBytes,
      Architectures: ['x86_64'],
    });
    expect(fixture.counts.createCalls).toBe(1);
    expect(fixture.counts.getCalls).toBeGreaterThanOrEqual(2); // the waiter's polls and the description
    const name = result.functions![0]!.FunctionName!;
    const conflict = lambdaize({ builtin: 'png2y4m', role: ROLE, name, endpoint: fixture.endpoint, outDir: dir }, process.env);
    await expect(conflict).rejects.toThrow(`cannot create function ${name}: Function already exist: ${name}`);
    await expect(conflict).rejects.toMatchObject({ cause: { name: 'ResourceConflictException' } });

    coordinator = await startScriptedCoordinator({ credentials, timeoutMs: 15_000 });
    const launcher = createLambdaLauncher({ functionName: name, regions: ['eu-west-1'], endpoint: fixture.endpoint });
    const reports: LaunchReport[] = [];
    await launcher.launch(
      [0, 1].map((invocation) => ({ invocation, event: functionEvent(coordinator!.port, invocation, { command: BUILTIN_COMMANDS.png2y4m }) })),
      (report) => reports.push(report),
    );
    await launcher.stop();
    expect(reports.map((r) => r.type)).toEqual(['accepted', 'accepted']);
    const hellos: string[] = [];
    for (let i = 0; i < 2; i++) {
      const session = await coordinator.nextSession();
      hellos.push(await session.next());
      session.send('quit:');
    }
    expect(hellos.sort()).toEqual(['OK:HELLO:0', 'OK:HELLO:1']);
    const runs = await fixture.waitForRuns(2);
    for (const run of runs) expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, reason: 'quit' });
  });

  it('--copies 3 creates NAME-0 .. NAME-2 from one zip, and the launcher spreads workers over them', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLAMBDAIZE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'lambdaize-secret');
    const { code, stdout: printed, stderr: told } = await captureOutput(() =>
      runLambdaizeCli(['--builtin', 'png2y4m', '--copies', '3', '--name', 'png2y4m-copies', '--role', ROLE, '--lambda-endpoint', fixture!.endpoint, '--out', dir]),
    );
    expect(code, told).toBe(0);
    const names = ['png2y4m-copies-0', 'png2y4m-copies-1', 'png2y4m-copies-2'];
    expect(told).toContain(`created ${names.join(', ')}\n`);
    const result = JSON.parse(printed) as { zip: string; zippedBytes: number; functions: Array<{ FunctionName: string; State: string; CodeSha256: string; CodeSize: number }> };
    expect(result.zip).toBe(join(dir, 'png2y4m-copies.zip'));
    expect(result.functions.map((fn) => [fn.FunctionName, fn.State])).toEqual(names.map((name) => [name, 'Active']));
    const sha = createHash('sha256').update(await readFile(result.zip)).digest('base64');
    for (const fn of result.functions) expect(fn).toMatchObject({ CodeSha256: sha, CodeSize: result.zippedBytes });
    expect([...fixture.functions.keys()].sort()).toEqual(names);

    const launcher = createLambdaLauncher({ functionName: 'png2y4m-copies', functionCopies: 3, endpoint: fixture.endpoint });
    await launcher.launch(Array.from({ length: 9 }, (_, invocation) => ({ invocation, event: functionEvent(1, invocation) })), () => undefined);
    await launcher.stop();
    const byFunction = new Map<string, number[]>();
    for (const call of fixture.invocations) byFunction.set(call.functionName, [...(byFunction.get(call.functionName) ?? []), (call.payload as { id: number }).id]);
    expect(new Map([...byFunction].map(([name, ids]) => [name, ids.sort()]))).toEqual(new Map([[names[0], [0, 3, 6]], [names[1], [1, 4, 7]], [names[2], [2, 5, 8]]]));
  });

  it('names the copy it could not create and the copies it left in place', async () => {
    fixture = await startLambdaFixture({ mode: 'record' });
    fixture.addFunction('png2y4m-taken-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLAMBDAIZE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'lambdaize-secret');
    const attempt = lambdaize({ builtin: 'png2y4m', copies: 3, name: 'png2y4m-taken', role: ROLE, endpoint: fixture.endpoint, outDir: dir }, process.env);
    await expect(attempt).rejects.toThrow(
      'cannot create function png2y4m-taken-1 (copy 2 of 3; png2y4m-taken-0 created and left in place): Function already exist: png2y4m-taken-1',
    );
    await expect(attempt).rejects.toMatchObject({ cause: { name: 'ResourceConflictException' } });
    expect([...fixture.functions.keys()].sort()).toEqual(['png2y4m-taken-0', 'png2y4m-taken-1']);
  });
});
