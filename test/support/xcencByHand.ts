/**
 * ExCamera's tools for the xcenc tests: where they are (../shared/excamera/bin and vpx-tools),
 * a synthetic clip cut into Y4M chunks with our png2y4m, and the rebase of
 * ../shared/excamera/README.md run by hand, the reference every worker's output must equal.
 *
 * @example
 * const chunks = await xcencClip(dir, { chunks: 5, frames: 6, width: 256, height: 144 });
 * const hand = await xcencByHand(dir, chunks.length, 3, 30); // hand.finals[c]: chunk c's IVF
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { syntheticFrame } from '../../runtime/demo/syntheticClip.js';

export const EXCAMERA_BIN = resolve('../shared/excamera/bin');
/** PATH with alfalfa's static tools first. */
export const XCENC_PATH = [EXCAMERA_BIN, process.env.PATH ?? ''].join(delimiter);

/** The tools the tests need that are not on {@link XCENC_PATH}, and what to install for them. */
export function missingXcencTools(): { missing: string[]; hint: string } {
  const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { env: { ...process.env, PATH: XCENC_PATH } }).status === 0;
  return {
    missing: ['vpxenc', 'vpxdec', 'xc-enc', 'xc-dump'].filter((tool) => !onPath(tool)),
    hint: 'vpx-tools: apt-get install vpx-tools; xc-enc/xc-dump: ../shared/excamera/bin or scripts/build-alfalfa.sh',
  };
}

/**
 * Run a tool to the end with stdin at end of file (xc-enc reads it to the end before it loads -I);
 * rejects with its stderr when it exits non-zero.
 */
export function runTool(tool: string, args: readonly string[], cwd?: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(tool, args, { cwd, env: { ...process.env, PATH: XCENC_PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveRun() : reject(new Error(`${tool} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

/** Frames of the synthetic clip cut into Y4M chunks `DIR/C.y4m` (chunk c holds frames c*F .. c*F+F-1). */
export async function xcencClip(dir: string, clip: { chunks: number; frames: number; width: number; height: number }): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let c = 0; c < clip.chunks; c++) {
    const pngDir = join(dir, 'png', String(c));
    await mkdir(pngDir, { recursive: true });
    for (let i = 0; i < clip.frames; i++) {
      await writeFile(join(pngDir, `${String(i + 1).padStart(8, '0')}.png`), syntheticFrame(c * clip.frames + i, clip.width, clip.height));
    }
    await runTool(process.execPath, [resolve('bin/png2y4m.js'), '-o', join(dir, `${c}.y4m`), join(pngDir, '%08d.png')]);
    chunks.push(await readFile(join(dir, `${c}.y4m`)));
  }
  return chunks;
}

/** ExCamera's vpxenc, written out again from ../shared/excamera/README.md (not taken from the machine). */
const VPX = (quality: number) =>
  `--ivf -q --codec=vp8 --good --cpu-used=0 --end-usage=cq --min-q=0 --max-q=63 --cq-level=${quality} --buf-initial-sz=10000 --buf-optimal-sz=20000 --buf-sz=40000 --undershoot-pct=100 --passes=2 --auto-alt-ref=1 --threads=1 --token-parts=0 --tune=ssim --target-bitrate=4294967295`.split(' ');

const xcEnc = (args: string[], cwd: string) => runTool('xc-enc', ['-w', '0.75', '-i', 'y4m', ...args], cwd);

/**
 * The README's rebase by hand, per group of K, on `DIR/0.y4m` .. : each chunk's final IVF, each
 * chunk's independent vpxenc IVF (pass 0's output) and the decoder state each final IVF ends in.
 */
export async function xcencByHand(dir: string, count: number, K: number, quality: number): Promise<{ finals: Buffer[]; independent: Buffer[]; finalStates: Buffer[] }> {
  await Promise.all(
    Array.from({ length: count }, async (_, c) => {
      await runTool('vpxenc', [...VPX(quality), '-o', `v${c}.ivf`, `${c}.y4m`], dir);
      await runTool('xc-dump', [`v${c}.ivf`, `s${c}.state`], dir);
    }),
  );
  const finals: string[] = [];
  const states: string[] = [];
  for (let c = 0; c < count; c++) {
    const e = c % K;
    if (e === 0) [finals[c], states[c]] = [`v${c}.ivf`, `s${c}.state`];
    if (e >= 1) {
      await xcEnc(['-O', `q${c}.state`, '-o', `p${c}.ivf`, '-r', '-I', `s${c - 1}.state`, '-p', `v${c}.ivf`, `${c}.y4m`], dir);
      [finals[c], states[c]] = [`p${c}.ivf`, `q${c}.state`];
    }
    if (e >= 2) {
      const previousFinal = e - 1 === 1 ? `q${c - 1}.state` : `r${c - 1}.state`;
      await xcEnc(['-O', `r${c}.state`, '-o', `out${c}.ivf`, '-r', '-I', previousFinal, '-p', `p${c}.ivf`, '-S', `s${c - 1}.state`, `${c}.y4m`], dir);
      [finals[c], states[c]] = [`out${c}.ivf`, `r${c}.state`];
    }
  }
  const read = (names: string[]) => Promise.all(names.map((name) => readFile(join(dir, name))));
  return { finals: await read(finals), independent: await read(Array.from({ length: count }, (_, c) => `v${c}.ivf`)), finalStates: await read(states) };
}
