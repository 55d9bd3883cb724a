/** The demo refuses a clip its local store's disk cannot hold, before writing any of it. */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { checkRoomForClip } from '../runtime/demo/clipRoom.js';
import { LocalStore } from '../store/localStore.js';
import type { ObjectStore } from '../store/store.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-clip-room-');
});

/** Frames of 1024x436 that take more than the disk `dir` is on has free (2x, by the estimate's own measure). */
async function tooMany(): Promise<number> {
  const { bavail, bsize } = await statfs(dir);
  return Math.ceil((2 * bavail * bsize) / (1024 * 436 * 7.5));
}

describe('checkRoomForClip', () => {
  it("lets a clip that fits through, for a store folder not made yet too", async () => {
    await expect(checkRoomForClip(new LocalStore(join(dir, 'new', 'store')), 24, 1024, 436)).resolves.toBeUndefined();
  });

  it('refuses one that does not fit, saying how much it needs and how much is free, and makes nothing', async () => {
    const root = join(dir, 'store');
    const frames = await tooMany();
    const refused = checkRoomForClip(new LocalStore(root), frames, 1024, 436);
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(new RegExp(`^${frames} frames of 1024x436 and their Y4M chunks need about [\\d.]+ [GT]B in ${root}, which has [\\d.]+ [GT]B free: use a smaller -n or -f$`));
    expect(existsSync(root)).toBe(false);
  });

  it('checks only local folders', async () => {
    const bucket = { name: 's3://bucket' } as unknown as ObjectStore;
    await expect(checkRoomForClip(bucket, 1e9, 1024, 436)).resolves.toBeUndefined();
  });
});

describe('xc-orch demo', () => {
  it('stops before writing a frame when the clip cannot fit (exit 2, one line)', async () => {
    // -n 100000 -f 99: 9.9 million frames, about 33 TB.
    const store = join(dir, 'store');
    const result = await runCli(['demo', '-n', '100000', '-f', '99', '-q', '-b', `file:${store}`], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^xc-orch demo: 9900000 frames of 1024x436 .* free: use a smaller -n or -f$/);
    expect(existsSync(store)).toBe(false);
  });
});
