/**
 * `xc-orch store` as a user runs it: the built CLI in a child process (run `npm run build` first;
 * `npm test` does), against a local folder and against the S3 test server, whose credentials and
 * endpoint reach the child only through the SDK's standard environment variables.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliOutcome } from './support/runCli.js';
import { startS3Server, type S3TestServer } from './support/s3Server.js';
import { useTempDirs } from './support/tempDirs.js';

const MiB = 1024 * 1024;

let s3: S3TestServer;
let dir: string;

function xc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> {
  return runCli(args, {
    cwd: dir,
    timeoutMs: 60_000,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_ENDPOINT_URL_S3: undefined,
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      // The SDK's own switch for its multi-line notice about Node < 22, so stderr is ours alone.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
  });
}

/** path (relative, with /) -> sha256 of every file under `root`. */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out[relative(root, path).split('\\').join('/')] = createHash('sha256').update(await readFile(path)).digest('hex');
    }
  };
  await walk(root);
  return out;
}

/** A folder of frames, one of them above the S3 part size. */
async function makeFrames(): Promise<string> {
  const frames = join(dir, 'frames');
  await mkdir(join(frames, 'sub'), { recursive: true });
  await writeFile(join(frames, '00000001.png'), randomBytes(5000));
  await writeFile(join(frames, '00000002.png'), randomBytes(7000));
  await writeFile(join(frames, 'sub', 'big.bin'), randomBytes(9 * MiB));
  await writeFile(join(frames, 'empty'), '');
  return frames;
}

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('xc-cli');
});

afterAll(async () => {
  await s3?.stop();
});

const tempDir = useTempDirs();
beforeEach(async () => {
  dir = await tempDir('xc-store-cli-');
});

describe('xc-orch store', () => {
  it('prints its help on --help and exits 0', async () => {
    const result = await xc(['store', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: xc-orch store put/);
  });

  it('exits 2 with one line for bad usage', async () => {
    for (const args of [['store'], ['store', 'copy'], ['store', 'get'], ['store', 'ls', '-b', 'Not_A_Bucket'], ['store', 'ls', '--nope']]) {
      const result = await xc(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^xc-orch store: .+\n$/);
    }
  });

  it('copies a folder into a local-folder store and back, and lists it', async () => {
    const frames = await makeFrames();
    const put = await xc(['store', 'put', '-b', 'file:./xc-store', 'frames', 'clip-png16']);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toMatch(/^put 4 files from .*frames -> file:.*\/xc-store\/clip-png16\//);
    const ls = await xc(['store', 'ls', '-b', 'file:./xc-store', 'clip-png16/']);
    expect(ls.stdout).toBe('clip-png16/00000001.png\nclip-png16/00000002.png\nclip-png16/empty\nclip-png16/sub/big.bin\n');
    const get = await xc(['store', 'get', '-b', 'file:./xc-store', '-q', 'clip-png16', 'back']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stderr).toBe('');
    expect(await tree(join(dir, 'back'))).toEqual(await tree(frames));
  });

  it('puts symlinks to files as files, and says what it leaves out of a folder', async () => {
    await mkdir(join(dir, 'linked'));
    await writeFile(join(dir, 'dataset.png'), 'frame bytes');
    await symlink(join(dir, 'dataset.png'), join(dir, 'linked', '00000001.png'));
    await symlink(join(dir, 'gone.png'), join(dir, 'linked', '00000002.png'));
    execFileSync('mkfifo', [join(dir, 'linked', 'pipe')]);
    const put = await xc(['store', 'put', 'linked', 'clip-png16']);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toMatch(/^put 1 file from .*linked -> file:.*\/clip-png16\/ \(11 B\); left out 2 entries that are not a file: 00000002\.png, pipe\n$/);
    expect((await xc(['store', 'ls'])).stdout).toBe('clip-png16/00000001.png\n');
    expect(await readFile(join(dir, 'xc-store', 'clip-png16', '00000001.png'), 'utf8')).toBe('frame bytes');
  });

  it('copies single files, naming keys and files sensibly', async () => {
    await writeFile(join(dir, 'one.txt'), 'one');
    expect((await xc(['store', 'put', 'one.txt'])).code).toBe(0);
    expect((await xc(['store', 'put', 'one.txt', 'dir/'])).code).toBe(0);
    expect((await xc(['store', 'put', 'one.txt', 'renamed.txt'])).code).toBe(0);
    expect((await xc(['store', 'ls'])).stdout).toBe('dir/one.txt\none.txt\nrenamed.txt\n');
    await mkdir(join(dir, 'into'));
    expect((await xc(['store', 'get', 'dir/one.txt', 'into'])).code).toBe(0);
    expect((await xc(['store', 'get', 'renamed.txt'])).code).toBe(0);
    expect(await readFile(join(dir, 'into', 'one.txt'), 'utf8')).toBe('one');
    expect(await readFile(join(dir, 'renamed.txt'), 'utf8')).toBe('one');
  });

  it('copies a folder to S3 and back, with credentials and endpoint from the environment only', async () => {
    const frames = await makeFrames();
    const env = s3.env();
    const put = await xc(['store', 'put', '-b', 'xc-cli', frames, 'sintel-png16'], env);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toContain('s3://xc-cli/sintel-png16/');
    const ls = await xc(['store', 'ls', '-b', 'xc-cli', 'sintel-png16/'], env);
    expect(ls.stdout.split('\n').filter(Boolean)).toEqual([
      'sintel-png16/00000001.png',
      'sintel-png16/00000002.png',
      'sintel-png16/empty',
      'sintel-png16/sub/big.bin',
    ]);
    const get = await xc(['store', 'get', '-b', 'xc-cli', 'sintel-png16/', 'back'], env);
    expect(get.code, get.stderr).toBe(0);
    expect(await tree(join(dir, 'back'))).toEqual(await tree(frames));
    expect(put.stderr + ls.stderr + get.stderr).not.toContain(s3.credentials.secretAccessKey);
  });

  it('takes the endpoint and region from flags too', async () => {
    await writeFile(join(dir, 'f.bin'), randomBytes(100));
    const env = { ...s3.env(), AWS_ENDPOINT_URL_S3: undefined, AWS_REGION: undefined };
    const put = await xc(['store', 'put', '-b', 'xc-cli', '--s3-endpoint', s3.endpoint, '-r', s3.region, 'f.bin', 'flags/f.bin'], env);
    expect(put.code, put.stderr).toBe(0);
    const get = await xc(['store', 'get', '-b', 'xc-cli', '--s3-endpoint', s3.endpoint, '-r', s3.region, 'flags/f.bin', 'g.bin'], env);
    expect(get.code, get.stderr).toBe(0);
    expect(await readFile(join(dir, 'g.bin'))).toEqual(await readFile(join(dir, 'f.bin')));
  });

  it('fails with one line naming the key for a missing object, leaving nothing', async () => {
    const result = await xc(['store', 'get', '-b', 'xc-cli', 'absent/key.png', 'out.png'], s3.env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^xc-orch store: NoSuchKey: s3:\/\/xc-cli\/absent\/key\.png: no such object and nothing under s3:\/\/xc-cli\/absent\/key\.png\/\n$/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails with AccessDenied when the credentials are wrong', async () => {
    await writeFile(join(dir, 'f.bin'), 'x');
    const result = await xc(['store', 'put', '-b', 'xc-cli', 'f.bin'], { ...s3.env(), AWS_SECRET_ACCESS_KEY: 'wrong-wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^xc-orch store: AccessDenied: s3:\/\/xc-cli\/f\.bin <- .*f\.bin: SignatureDoesNotMatch/);
    expect(result.stderr).not.toContain('wrong-wrong');
  });

  it('fails with one line for a missing local file', async () => {
    const result = await xc(['store', 'put', 'nothing-here']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^xc-orch store: LocalFile: .*nothing-here: no such file or folder\n$/);
  });
});
