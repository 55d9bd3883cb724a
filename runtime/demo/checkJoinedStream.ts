/**
 * `demo excamera`'s check of the joined stream: `vpxdec` must decode it to every frame of the clip,
 * and its key frames must be exactly the heads of the groups, where ExCamera's rebase leaves them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../../common/errors.js';
import { parseIvf, vp8KeyFrames } from '../video/ivf.js';

/** What the joined stream must be. */
export interface JoinedExpectation {
  /** Frames in the whole clip. */
  frames: number;
  /** Frames per group of chunks: a key frame starts each group, and nowhere else. */
  groupFrames: number;
  width: number;
  height: number;
}

/**
 * One line per problem (empty when the stream is right).
 *
 * @example await checkJoinedStream('clip.ivf', { frames: 36, groupFrames: 18, width: 1024, height: 436 }) // []
 */
export async function checkJoinedStream(file: string, expected: JoinedExpectation, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const problems: string[] = [];
  const frames = parseIvf(await readFile(file), file).frames;
  if (frames.length !== expected.frames) problems.push(`${file} holds ${frames.length} frames, not ${expected.frames}`);
  const keys = vp8KeyFrames(frames);
  const heads = Array.from({ length: Math.ceil(expected.frames / expected.groupFrames) }, (_, g) => g * expected.groupFrames);
  if (keys.join() !== heads.join()) problems.push(`${file} has key frames at ${keys.join(', ')}, not only at the group heads ${heads.join(', ')}`);
  const dir = await mkdtemp(join(tmpdir(), 'xc-vpxdec-'));
  try {
    const yuv = join(dir, 'decoded.yuv');
    const failure = await decode(file, yuv, env);
    if (failure) return [...problems, failure];
    const decoded = (await stat(yuv)).size / (expected.width * expected.height * 1.5);
    if (decoded !== expected.frames) problems.push(`vpxdec decoded ${decoded} frames of ${expected.width}x${expected.height} from ${file}, not ${expected.frames}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return problems;
}

/** Decode `file` to raw I420; undefined when vpxdec exits 0, else what went wrong. */
function decode(file: string, yuv: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('vpxdec', ['--i420', '-o', yuv, file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', (error) => resolve(`vpxdec could not run: ${describeError(error)}`));
    child.on('close', (code) => resolve(code === 0 ? undefined : `vpxdec exited ${code} on ${file}: ${stderr.trim().split('\n').pop() ?? ''}`));
  });
}
