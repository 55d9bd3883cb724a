/**
 * ExCamera's chain end to end without the coordinator (issue 10): real workers (in process, real
 * vpxenc/xc-dump/xc-enc processes) driven over mutual TLS by the xcenc machine, states through the
 * embedded relay, on a synthetic clip of 2 groups (6 chunks of 6 frames, K = 4: places 0 1 2 3 | 0 1).
 * Each output must equal the commands of ../shared/excamera/README.md run by hand, and the joined
 * stream must decode to every frame with key frames only at the group heads.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { joinIvf, parseIvf, vp8KeyFrames } from '../runtime/video/ivf.js';
import { useTempDirs } from './support/tempDirs.js';
import { missingXcencTools, runTool, xcencByHand, xcencClip, XCENC_PATH } from './support/xcencByHand.js';
import { runXcencChain, type XcencChainResult } from './support/xcencChain.js';

const { missing, hint } = missingXcencTools();
if (missing.length > 0) console.warn(`xcenc chain test skipped: ${missing.join(', ')} not found (${hint})`);

const WIDTH = 256;
const HEIGHT = 144;
const FRAMES = 6;
const CHUNKS = 6;
const K = 4;
const QUALITY = 30;

describe.skipIf(missing.length > 0)('xcenc chain, real tools, without the coordinator', () => {
  const tempDir = useTempDirs('file');
  let dir: string;
  let chunks: Buffer[];
  let chain: XcencChainResult;
  let hand: Awaited<ReturnType<typeof xcencByHand>>;

  beforeAll(async () => {
    dir = await tempDir('xc-xcenc-');
    const handDir = join(dir, 'hand');
    await mkdir(handDir);
    chunks = await xcencClip(handDir, { chunks: CHUNKS, frames: FRAMES, width: WIDTH, height: HEIGHT });
    [chain, hand] = await Promise.all([
      runXcencChain({ dir: join(dir, 'chain'), chunks, groupSize: K, quality: QUALITY, path: XCENC_PATH, timeoutMs: 60_000 }),
      xcencByHand(handDir, CHUNKS, K, QUALITY),
    ]);
  }, 120_000);

  it('every chunk is done, every worker quit, and states went through the relay', () => {
    expect(chain.outcomes).toEqual(Array.from({ length: CHUNKS }, () => ({ status: 'done' })));
    expect(chain.workerExits.map((exit) => exit.reason)).toEqual(Array.from({ length: CHUNKS }, () => 'quit'));
    // STATE(0) from 0, 1, 2 and 4, STATE(1) from 1, STATE(2) from 2: what 1, 2, 3 and 5 need, nothing past a group.
    expect(chain.relay.relayedFrames).toBe(6);
  });

  it('each output is byte-identical to the same commands run by hand', () => {
    for (let c = 0; c < CHUNKS; c++) {
      expect(chain.outputs[c], `chunk ${c}`).toBeDefined();
      expect(chain.outputs[c]!.equals(hand.finals[c]!), `chunk ${c} (place ${c % K})`).toBe(true);
    }
  });

  it('the joined stream decodes to every frame, key frames only at group heads, smaller than the independent chunks', async () => {
    const joined = joinIvf(chain.outputs.map((bytes, c) => ({ name: `${c}.ivf`, bytes: bytes! })));
    const frames = parseIvf(joined, 'joined').frames;
    expect(frames).toHaveLength(CHUNKS * FRAMES);
    expect(vp8KeyFrames(frames)).toEqual([0, K * FRAMES]);
    const independentKeys = hand.independent.flatMap((file, c) => vp8KeyFrames(parseIvf(file, `v${c}`).frames).map((i) => c * FRAMES + i));
    expect(independentKeys).toEqual([0, 6, 12, 18, 24, 30]);
    const independentBytes = hand.independent.reduce((sum, file) => sum + file.byteLength, 0);
    expect(joined.byteLength).toBeLessThan(independentBytes);

    const ivf = join(dir, 'joined.ivf');
    const yuv = join(dir, 'joined.yuv');
    await writeFile(ivf, joined);
    await runTool('vpxdec', ['--i420', '-o', yuv, ivf]);
    expect((await stat(yuv)).size).toBe(CHUNKS * FRAMES * WIDTH * HEIGHT * 1.5);
  });
});
