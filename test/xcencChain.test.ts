/**
 * ExCamera's chain end to end without the coordinator (issue 10): real workers (in process, real
 * vpxenc/xc-dump/xc-enc processes) driven over mutual TLS by the xcenc machine, states through the
 * embedded relay, on a synthetic clip of 2 groups (6 chunks of 6 frames, K = 4: places 0 1 2 3 | 0 1).
 * Each output must equal the commands of ../shared/excamera/README.md run by hand, and the joined
 * stream must decode to every frame with key frames only at the group heads.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { joinIvf, parseIvf } from '../runtime/video/ivf.js';
import { runXcencChain, type XcencChainResult } from './support/xcencChain.js';

const EXCAMERA_BIN = resolve('../shared/excamera/bin');
const PATH = [EXCAMERA_BIN, process.env.PATH ?? ''].join(delimiter);
/**
 * Run a tool to the end with stdin at end of file (xc-enc reads it to the end before it loads -I);
 * rejects with its stderr when it exits non-zero.
 */
function run(tool: string, args: readonly string[], cwd?: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(tool, args, { cwd, env: { ...process.env, PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveRun() : reject(new Error(`${tool} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}
const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { env: { ...process.env, PATH } }).status === 0;
const missing = ['vpxenc', 'vpxdec', 'xc-enc', 'xc-dump'].filter((tool) => !onPath(tool));
if (missing.length > 0) {
  console.warn(`xcenc chain test skipped: ${missing.join(', ')} not found (vpx-tools: apt-get install vpx-tools; xc-enc/xc-dump: ../shared/excamera/bin or scripts/build-alfalfa.sh)`);
}

const WIDTH = 256;
const HEIGHT = 144;
const FRAMES = 6;
const CHUNKS = 6;
const K = 4;
const QUALITY = 30;

/** ExCamera's vpxenc, written out again from ../shared/excamera/README.md (not taken from the machine). */
const VPX = (quality: number) =>
  `--ivf -q --codec=vp8 --good --cpu-used=0 --end-usage=cq --min-q=0 --max-q=63 --cq-level=${quality} --buf-initial-sz=10000 --buf-optimal-sz=20000 --buf-sz=40000 --undershoot-pct=100 --passes=2 --auto-alt-ref=1 --threads=1 --token-parts=0 --tune=ssim --target-bitrate=4294967295`.split(' ');

const xcEnc = (args: string[], cwd: string) => run('xc-enc', ['-w', '0.75', '-i', 'y4m', ...args], cwd);

/** The README's rebase by hand, per group: returns each chunk's final IVF and every independent vpxenc chunk. */
async function byHand(dir: string): Promise<{ finals: Buffer[]; independent: Buffer[] }> {
  await Promise.all(
    Array.from({ length: CHUNKS }, async (_, c) => {
      await run('vpxenc', [...VPX(QUALITY), '-o', `v${c}.ivf`, `${c}.y4m`], dir);
      await run('xc-dump', [`v${c}.ivf`, `s${c}.state`], dir);
    }),
  );
  const finals: string[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const e = c % K;
    if (e === 0) finals[c] = `v${c}.ivf`;
    if (e >= 1) {
      await xcEnc(['-O', `q${c}.state`, '-o', `p${c}.ivf`, '-r', '-I', `s${c - 1}.state`, '-p', `v${c}.ivf`, `${c}.y4m`], dir);
      finals[c] = `p${c}.ivf`;
    }
    if (e >= 2) {
      const previousFinal = e - 1 === 1 ? `q${c - 1}.state` : `r${c - 1}.state`;
      await xcEnc(['-O', `r${c}.state`, '-o', `out${c}.ivf`, '-r', '-I', previousFinal, '-p', `p${c}.ivf`, '-S', `s${c - 1}.state`, `${c}.y4m`], dir);
      finals[c] = `out${c}.ivf`;
    }
  }
  const read = (names: string[]) => Promise.all(names.map((name) => readFile(join(dir, name))));
  return { finals: await read(finals), independent: await read(Array.from({ length: CHUNKS }, (_, c) => `v${c}.ivf`)) };
}

describe.skipIf(missing.length > 0)('xcenc chain, real tools, without the coordinator', () => {
  let dir: string;
  let chunks: Buffer[];
  let chain: XcencChainResult;
  let hand: { finals: Buffer[]; independent: Buffer[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xc-xcenc-'));
    const handDir = join(dir, 'hand');
    await mkdir(handDir);
    chunks = [];
    for (let c = 0; c < CHUNKS; c++) {
      const pngDir = join(dir, 'png', String(c));
      await mkdir(pngDir, { recursive: true });
      for (let i = 0; i < FRAMES; i++) await writeFile(join(pngDir, `${String(i + 1).padStart(8, '0')}.png`), syntheticFrame(c * FRAMES + i, WIDTH, HEIGHT));
      await run(process.execPath, [resolve('bin/png2y4m.js'), '-o', join(handDir, `${c}.y4m`), join(pngDir, '%08d.png')]);
      chunks.push(await readFile(join(handDir, `${c}.y4m`)));
    }
    [chain, hand] = await Promise.all([runXcencChain({ dir: join(dir, 'chain'), chunks, groupSize: K, quality: QUALITY, path: PATH, timeoutMs: 60_000 }), byHand(handDir)]);
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

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
    // VP8 frame tag: bit 0 of the first byte is 0 for a key frame.
    const keyFrames = frames.flatMap((frame, i) => ((frame[0]! & 1) === 0 ? [i] : []));
    expect(keyFrames).toEqual([0, K * FRAMES]);
    const independentKeys = hand.independent.flatMap((file, c) => parseIvf(file, `v${c}`).frames.flatMap((f, i) => ((f[0]! & 1) === 0 ? [c * FRAMES + i] : [])));
    expect(independentKeys).toEqual([0, 6, 12, 18, 24, 30]);
    const independentBytes = hand.independent.reduce((sum, file) => sum + file.byteLength, 0);
    expect(joined.byteLength).toBeLessThan(independentBytes);

    const ivf = join(dir, 'joined.ivf');
    const yuv = join(dir, 'joined.yuv');
    await writeFile(ivf, joined);
    await run('vpxdec', ['--i420', '-o', yuv, ivf]);
    expect((await stat(yuv)).size).toBe(CHUNKS * FRAMES * WIDTH * HEIGHT * 1.5);
  });
});
