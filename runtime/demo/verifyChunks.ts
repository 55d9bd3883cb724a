/**
 * The demo's check: convert each chunk's frames directly with png2y4m and compare with the job's
 * output, byte for byte. Chunks are checked in parallel, one per converter lane.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../../common/errors.js';
import { chunkKeys } from '../../jobs/png2y4m.js';
import type { ObjectStore } from '../../store/store.js';
import { storedKey } from '../coordinator/runOptions.js';
import { createDirectConverter } from './directConverter.js';

/** Which png2y4m chunks to check. */
export interface Png2y4mChunks {
  parts: number;
  frames: number;
  video: string;
  /** Number of the first chunk. Default 0. */
  offset?: number;
  /** Default `png16`. */
  inFormat?: string;
  /** Keys hashed as `-M` names them. Default false. */
  hashKeys?: boolean;
}

/**
 * One line per mismatch, in chunk order (empty when everything matches).
 *
 * @example expect(await verifyChunks(store, { parts: 4, frames: 6, video: 'sintel-1k' })).toEqual([])
 */
export async function verifyChunks(store: ObjectStore, chunks: Png2y4mChunks): Promise<string[]> {
  const options = { offset: 0, inFormat: 'png16', hashKeys: false, ...chunks };
  const work = await mkdtemp(join(tmpdir(), 'xc-demo-verify-'));
  const converter = createDirectConverter();
  const problems: Array<string | undefined> = new Array(options.parts);
  const check = async (chunk: number): Promise<string | undefined> => {
    const keys = chunkKeys({ chunk, frames: options.frames, video: options.video, inFormat: options.inFormat });
    const dir = join(work, String(chunk));
    await mkdir(dir);
    for (const key of keys.inputKeys) await store.download(storedKey(options, key), join(dir, key.slice(key.lastIndexOf('/') + 1)));
    const expected = join(work, `${chunk}.y4m`);
    const direct = await converter.convert(join(dir, '%08d.png'), expected);
    if (direct.code !== 0) {
      return `${keys.outputKey}: the direct png2y4m conversion failed (exit ${direct.code}): ${describeError(direct.output)}`;
    }
    const got = join(work, `${chunk}.got.y4m`);
    await store.download(storedKey(options, keys.outputKey), got);
    const [a, b] = await Promise.all([readFile(expected), readFile(got)]);
    return a.equals(b) ? undefined : `${keys.outputKey}: differs from a direct png2y4m conversion (${b.length} bytes, expected ${a.length})`;
  };
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let k = next++; k < options.parts; k = next++) problems[k] = await check(options.offset + k);
    };
    await Promise.all(Array.from({ length: Math.min(converter.lanes, options.parts) }, lane));
  } finally {
    await converter.close();
    await rm(work, { recursive: true, force: true });
  }
  return problems.filter((line): line is string => line !== undefined);
}
