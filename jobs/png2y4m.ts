/**
 * mu's png2y4m job (mu-reference section 5): PNG frames `VIDEO-INFMT/%08d.png` become Y4M chunks
 * `VIDEO-y4m_FF/%08d.y4m`. Per chunk: configure the worker, then for every frame fetch its PNG and
 * append it to the chunk's Y4M (`run:`), then upload the Y4M and quit. Timelines read
 * `configure.set_outkey`, `retrieveLoop.frame.retrieve`, `upload.upload`.
 */
import { ConfigError } from '../common/errors.js';
import { optionTable } from '../common/optionTable.js';
import { commandList, forLoop } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { defineJob } from './defineJob.js';

export interface Png2y4mInput {
  /** Absolute chunk number c (the offset added): frames 1 + F*c .. F*c + F. */
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

/** `%08d` in key names: frame and chunk numbers must stay below this. */
export const KEY_NUMBER_LIMIT = 100_000_000;

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

/** The command every png2y4m worker runs for a bare `run:` (mu-reference section 5). */
export const PNG2Y4M_COMMAND = 'png2y4m -i -d -o ##OUTFILE## ##INFILE##';

const JOB = 'Job';
const NAME = /^[^/\s]+$/;

/** The options of png2y4m (and of the jobs that read chunks of frames the same way). */
export const CHUNKED_FRAME_OPTIONS = optionTable({
  parts: { flag: 'parts', short: 'n', type: 'integer', section: JOB, min: 1, max: 100_000, default: 1, help: 'chunks, one worker each' },
  offset: { flag: 'offset', short: 'o', type: 'integer', section: JOB, min: 0, max: KEY_NUMBER_LIMIT - 1, default: 0, help: 'number of the first chunk' },
  video: { flag: 'video', short: 'v', type: 'string', arg: 'NAME', section: JOB, default: 'sintel-1k', pattern: NAME, expected: "a non-empty name without '/' or spaces", help: 'video name (key prefix)' },
});

/** Refuse chunk numbers that `%08d` key names cannot hold, before anything runs. */
export function checkKeyNumbers(what: string, last: number, flags: string): void {
  if (last >= KEY_NUMBER_LIMIT) {
    throw new ConfigError(`${what} would be ${last}, but key names hold 8 digits (%08d, at most ${KEY_NUMBER_LIMIT - 1}): lower ${flags}`);
  }
}

/**
 * @example await runJob(png2y4m, { parts: 4, frames: 6, video: 'sintel-1k' })
 */
export const png2y4m = defineJob({
  name: 'png2y4m',
  description: 'PNG frames VIDEO-INFMT/%08d.png -> Y4M chunks VIDEO-y4m_FF/%08d.y4m, FF frames per worker',
  options: {
    ...CHUNKED_FRAME_OPTIONS,
    frames: { flag: 'frames', short: 'f', type: 'integer', section: JOB, min: 1, max: 99, default: 6, help: 'frames per chunk' },
    inFormat: { flag: 'in-format', short: 'i', type: 'string', arg: 'NAME', section: JOB, default: 'png16', pattern: NAME, expected: "a non-empty name without '/' or spaces", help: 'input format (folder suffix)' },
  },
  plan: ({ parts, offset, frames, video, inFormat }) => {
    checkKeyNumbers('the last frame number', frames * (offset + parts), '-o, -n or -f');
    return {
      firstChunk: offset,
      title: `png2y4m · ${parts} chunk${parts === 1 ? '' : 's'} × ${frames} frames`,
      units: { name: 'frames', perChunk: frames },
      inputName: 'input frame',
      missingHint: `copy frames in with 'xc-orch store put DIR ${video}-${inFormat}', or try 'xc-orch demo'`,
      chunks: Array.from({ length: parts }, (_, i) => {
        const input = { chunk: offset + i, frames, video, inFormat };
        const keys = chunkKeys(input);
        return { input, inputs: keys.inputKeys, outputs: [keys.outputKey] };
      }),
    };
  },
  machine: png2y4mMachine,
  worker: { command: PNG2Y4M_COMMAND, executables: ['png2y4m'] },
});
