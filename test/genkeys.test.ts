import { X509Certificate } from 'node:crypto';
import { chmod, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../cli/genkeys.js';
import { main } from '../cli/main.js';
import { COORDINATOR_NAME } from '../runtime/tls/certs.js';
import { captureOutput } from './support/captureOutput.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs('file');
let root: string;
let counter = 0;

beforeAll(async () => {
  root = await tempDir('xc-genkeys-');
});

const FILES = ['ca_cert.pem', 'ca_key.pem', 'server_cert.pem', 'server_key.pem', 'worker_cert.pem', 'worker_key.pem'];

function freshDir(): string {
  return join(root, `keys-${counter++}`, 'nested');
}

describe('xc-orch genkeys', () => {
  it('writes the six PEM files, keys readable by the owner only', async () => {
    const dir = freshDir();
    const { code, stdout, stderr } = await captureOutput(() => run([dir]));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([...FILES].sort());
    expect(stdout.trim().split('\n')).toEqual(FILES.map((name) => join(dir, name)));
    for (const name of FILES) {
      const mode = (await stat(join(dir, name))).mode & 0o777;
      if (name.endsWith('_key.pem')) expect(mode).toBe(0o600);
      else expect(mode & 0o022).toBe(0);
    }
    const ca = new X509Certificate(await readFile(join(dir, 'ca_cert.pem')));
    const server = new X509Certificate(await readFile(join(dir, 'server_cert.pem')));
    const worker = new X509Certificate(await readFile(join(dir, 'worker_cert.pem')));
    expect(server.verify(ca.publicKey) && worker.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost(COORDINATOR_NAME)).toBe(COORDINATOR_NAME);
    const days = (Date.parse(server.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
  });

  it('honours --days', async () => {
    const dir = freshDir();
    expect((await captureOutput(() => run(['--days', '30', dir]))).code).toBe(0);
    const server = new X509Certificate(await readFile(join(dir, 'server_cert.pem')));
    expect(Math.round((Date.parse(server.validTo) - Date.now()) / 86_400_000)).toBe(30);
  });

  it('refuses to overwrite existing files, and writes nothing', async () => {
    const dir = freshDir();
    await captureOutput(() => run([dir]));
    const before = await readFile(join(dir, 'ca_key.pem'), 'utf8');
    await rm(join(dir, 'worker_key.pem'));
    const { code, stderr } = await captureOutput(() => run([dir]));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^xc-orch genkeys: refusing to overwrite .*ca_cert\.pem.* \(use --force\)\n$/);
    expect(await readFile(join(dir, 'ca_key.pem'), 'utf8')).toBe(before);
    expect(await readdir(dir)).not.toContain('worker_key.pem');
  });

  it('overwrites with --force, and tightens the mode of a loosened key file', async () => {
    const dir = freshDir();
    await captureOutput(() => run([dir]));
    const before = await readFile(join(dir, 'server_key.pem'), 'utf8');
    await chmod(join(dir, 'server_key.pem'), 0o644);
    const { code } = await captureOutput(() => run(['--force', dir]));
    expect(code).toBe(0);
    expect(await readFile(join(dir, 'server_key.pem'), 'utf8')).not.toBe(before);
    expect((await stat(join(dir, 'server_key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('explains itself with --help, also through the command table', async () => {
    const direct = await captureOutput(() => run(['--help']));
    expect(direct.code).toBe(0);
    expect(direct.stdout).toMatch(/^Usage: xc-orch genkeys \[options\] DIR/);
    const viaMain = await captureOutput(() => main(['genkeys', '-h']));
    expect(viaMain.code).toBe(0);
    expect(viaMain.stdout).toBe(direct.stdout);
  });

  it.each([
    [[], /expects one folder, got 0/],
    [['a', 'b'], /expects one folder, got 2/],
    [['--days', 'ten', 'x'], /--days expects a whole number/],
    [['--days', '0', 'x'], /--days must be a whole number from 1 to 36500, got 0: --days N: validity of the certificates in days \(1-36500\)/],
    [['--colour', 'x'], /unknown option '--colour'/],
  ])('rejects bad arguments %j with exit code 2', async (args, message) => {
    const { code, stderr } = await captureOutput(() => run(args));
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
