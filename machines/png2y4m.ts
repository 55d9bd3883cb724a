/**
 * mu's png2y4m job for one chunk (mu-reference section 5): configure the worker, then for every
 * frame of the chunk fetch its PNG and append it to the chunk's Y4M (`run:`), then upload the Y4M
 * and quit. Timelines read `configure.set_outkey`, `retrieveLoop.frame.retrieve`, `upload.upload`.
 * Chunk numbers here are absolute (the CLI's offset already added).
 */
import { commandList, forLoop } from './blocks.js';
import { createConnectionMachine } from './connectionMachine.js';

export interface Png2y4mInput {
  /** Absolute chunk number c: frames 1 + F*c .. F*c + F. */
  chunk: number;
  /** Frames per chunk (F). */
  frames: number;
  /** Video name, the key prefix (`sintel-1k`). */
  video: string;
  /** Input format, the key suffix of the frames' folder (`png16`). */
  inFormat: string;
  answerTimeoutMs?: number;
}

/** The store keys a chunk reads and writes. */
export interface ChunkKeys {
  /** `VIDEO-INFMT/P.png` for every frame P of the chunk, in order. */
  inputKeys: string[];
  /** `VIDEO-y4m_FF/C.y4m`. */
  outputKey: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * @example chunkKeys({ chunk: 2, frames: 3, video: 'sintel-1k', inFormat: 'png16' })
 * // { inputKeys: ['sintel-1k-png16/00000007.png', ...08, ...09], outputKey: 'sintel-1k-y4m_03/00000002.y4m' }
 */
export function chunkKeys(input: Pick<Png2y4mInput, 'chunk' | 'frames' | 'video' | 'inFormat'>): ChunkKeys {
  const { chunk, frames, video, inFormat } = input;
  const first = 1 + frames * chunk;
  return {
    inputKeys: Array.from({ length: frames }, (_, i) => `${video}-${inFormat}/${pad(first + i, 8)}.png`),
    outputKey: `${video}-y4m_${pad(frames, 2)}/${pad(chunk, 8)}.y4m`,
  };
}

/**
 * @example
 * const actor = createActor(png2y4mMachine, { input: { chunk: 2, frames: 6, video: 'sintel-1k', inFormat: 'png16' } });
 */
export const png2y4mMachine = createConnectionMachine({
  id: 'png2y4m',
  vars: (input: Png2y4mInput) => ({
    chunk: input.chunk,
    frames: input.frames,
    video: input.video,
    inFormat: input.inFormat,
    firstFrame: 1 + input.frames * input.chunk,
    lastFrame: input.frames * (input.chunk + 1),
  }),
  answerTimeoutMs: (input) => input.answerTimeoutMs,
  blocks: [
    commandList('configure', [
      'set:cmdinfile:##TMPDIR##/%08d.png',
      'set:cmdoutfile:##TMPDIR##/{chunk:08}.y4m',
      'set:fromfile:##TMPDIR##/{chunk:08}.y4m',
      'set:outkey:{video}-y4m_{frames:02}/{chunk:08}.y4m',
      'seti:nonblock:0',
    ]),
    forLoop('retrieveLoop', {
      counter: 'frame',
      from: 'firstFrame',
      to: 'lastFrame',
      body: commandList('frame', [
        'set:inkey:{video}-{inFormat}/{frame:08}.png',
        'set:targfile:##TMPDIR##/{frame:08}.png',
        'retrieve:',
        { send: 'run:', expect: 'OK:RETVAL(0)' },
      ]),
    }),
    commandList('upload', ['upload:']),
  ],
});
