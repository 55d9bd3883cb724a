/**
 * common/makeFolders.ts: `mkdir -p` that ends where Node's recursive mkdir spins forever (a
 * dangling symlink on the way, a path under /proc), and what the local store and the CLI make of
 * such a folder: an error naming it, at once.
 */
import { existsSync } from 'node:fs';
import { stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeFolders } from '../common/makeFolders.js';
import { LocalStore } from '../store/localStore.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-make-folders-');
});

describe('makeFolders', () => {
  it('makes every missing folder, and is content with folders that are there', async () => {
    await makeFolders(join(dir, 'a', 'b', 'c'));
    expect((await stat(join(dir, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    await makeFolders(join(dir, 'a', 'b', 'c'));
    await makeFolders(join(dir, 'a'));
    await makeFolders(join(dir, 'x', 'secret'), 0o700);
    expect((await stat(join(dir, 'x'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'x', 'secret'))).mode & 0o777).toBe(0o700);
  });

  it('fails at once through a dangling symlink, a file on the way and a file in its place', async () => {
    await symlink(join(dir, 'not-mounted'), join(dir, 'store'));
    const dangling = { code: 'ENOTDIR', message: `${join(dir, 'store')} is a symlink to nothing (a disk not mounted?)` };
    await expect(makeFolders(join(dir, 'store', 'videos'))).rejects.toMatchObject(dangling);
    await expect(makeFolders(join(dir, 'store'))).rejects.toMatchObject(dangling);
    await writeFile(join(dir, 'file'), 'x');
    await expect(makeFolders(join(dir, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeFolders(join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR', message: `${join(dir, 'file')} is not a folder` });
  });

  it.skipIf(!existsSync('/proc/self'))('fails at once under /proc, whose folders take no children', async () => {
    await expect(makeFolders('/proc/xc-orch-test/frames')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('a store whose folder cannot be made', () => {
  it('the local store names the key and the cause instead of hanging', async () => {
    await symlink(join(dir, 'not-mounted'), join(dir, 'store'));
    // A store folder below the dangling link: where Node's recursive mkdir never returns.
    const store = new LocalStore(join(dir, 'store', 'xc-store'));
    await expect(store.put('v/1.png', new Uint8Array([1]))).rejects.toThrow(/v\/1\.png.*symlink to nothing/);
  });

  it('xc-orch demo stops with one line and exit 1', async () => {
    await symlink(join(dir, 'not-mounted'), join(dir, 'store'));
    const result = await runCli(['demo', '-q', '-b', `file:${join(dir, 'store', 'xc-store')}`], { cwd: dir, timeoutMs: 30_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/symlink to nothing/);
    expect(result.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });
});
