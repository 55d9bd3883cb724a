/**
 * The demo's check (runtime/demo/verifyChunks.ts): chunks converted directly in png2y4m threads,
 * in parallel, must match the job's output byte for byte, and every kind of mismatch is named.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { seedClip } from '../cli/demo.js';
import { main } from '../png2y4m/main.js';
import { createDirectConverter } from '../runtime/demo/directConverter.js';
import { verifyChunks } from '../runtime/demo/verifyChunks.js';
import { LocalStore } from '../store/localStore.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
let store: LocalStore;

beforeEach(async () => {
  dir = await tempDir('xc-demo-check-');
  store = new LocalStore(join(dir, 'store'));
});

const quiet = { stderr: () => {}, readStdin: () => new Uint8Array(), openStdout: () => { throw new Error('no stdout'); }, env: {} };

/** What a correct job leaves in the store: each chunk converted from the store's own frames. */
async function fakeJobOutput(parts: number, frames: number): Promise<void> {
  for (let chunk = 0; chunk < parts; chunk++) {
    const frameDir = join(dir, `in-${chunk}`);
    await mkdir(frameDir);
    for (let k = 1; k <= frames; k++) {
      const name = `${String(chunk * frames + k).padStart(8, '0')}.png`;
      await store.download(`clip-png16/${name}`, join(frameDir, name));
    }
    const out = join(dir, `out-${chunk}.y4m`);
    expect(await main(['png2y4m', '-o', out, join(frameDir, '%08d.png')], quiet)).toBe(0);
    await store.upload(`clip-y4m_0${frames}/${String(chunk).padStart(8, '0')}.y4m`, out);
  }
}

const options = (parts: number, frames: number) => ({ parts, frames, video: 'clip' });

describe('verifyChunks', () => {
  it('accepts chunks identical to a direct conversion, and names the one that differs', async () => {
    await seedClip(store, 'clip', 6, { width: 48, height: 30 });
    await fakeJobOutput(3, 2);
    expect(await verifyChunks(store, options(3, 2))).toEqual([]);
    await store.put('clip-y4m_02/00000001.y4m', Buffer.from('YUV4MPEG2 not really\n'));
    expect(await verifyChunks(store, options(3, 2))).toEqual([
      'clip-y4m_02/00000001.y4m: differs from a direct png2y4m conversion (21 bytes, expected 4373)',
    ]);
  });

  it('says which chunk could not be converted directly, with the tool\'s reason', async () => {
    await seedClip(store, 'clip', 2, { width: 48, height: 30 });
    await fakeJobOutput(1, 2);
    await store.put('clip-png16/00000002.png', Buffer.from('not a png'));
    const problems = await verifyChunks(store, options(1, 2));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^clip-y4m_02\/00000000\.y4m: the direct png2y4m conversion failed \(exit 1\): .*Error: Not a PNG\.$/);
  });
});

describe('createDirectConverter', () => {
  it('runs more conversions than it has threads, each to its own file', async () => {
    await seedClip(store, 'clip', 1, { width: 48, height: 30 });
    const input = join(dir, 'in');
    await mkdir(input);
    await store.download('clip-png16/00000001.png', join(input, '00000001.png'));
    const converter = createDirectConverter(2);
    try {
      expect(converter.lanes).toBe(2);
      const results = await Promise.all([0, 1, 2, 3, 4].map((k) => converter.convert(join(input, '%08d.png'), join(dir, `o${k}.y4m`))));
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
      expect(results[0]!.output).toContain('1 frames, 48x30');
    } finally {
      await converter.close();
    }
  });
});
