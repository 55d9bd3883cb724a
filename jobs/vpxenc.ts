/**
 * mu's vpxenc job (`vpxenc_server.py`): each worker encodes one Y4M chunk `VIDEO-INFMT/%08d.y4m`
 * to VP8 IVF with `vpxenc`, using the command ExCamera used, at the quality `-Y`. Outputs go
 * under a prefix that names the quality: `VIDEO-vpxenc_qYY/%08d.ivf`.
 */
import { optionTable } from '../common/optionTable.js';
import { commandList } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { vpxencCommand } from '../machines/vpxencCommand.js';
import { defineJob } from './defineJob.js';
import { CHUNKED_FRAME_OPTIONS, checkKeyNumbers } from './png2y4m.js';

export interface VpxencInput {
  /** Absolute chunk number (the offset added). */
  chunk: number;
  video: string;
  inFormat: string;
  /** `--cq-level`, 0-63. */
  quality: number;
  answerTimeoutMs?: number;
}

/** ExCamera's encoder settings on the worker's `##INFILE##`; `##QUALITY##` is the chunk's `cmdquality`. */
export const VPXENC_COMMAND = vpxencCommand('##OUTFILE##', '##INFILE##');

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * @example vpxencKeys({ chunk: 3, video: 'v', inFormat: 'y4m_06', quality: 30 })
 * // { inputKey: 'v-y4m_06/00000003.y4m', outputKey: 'v-vpxenc_q30/00000003.ivf' }
 */
export function vpxencKeys(input: Pick<VpxencInput, 'chunk' | 'video' | 'inFormat' | 'quality'>): { inputKey: string; outputKey: string } {
  return {
    inputKey: `${input.video}-${input.inFormat}/${pad(input.chunk, 8)}.y4m`,
    outputKey: `${input.video}-vpxenc_q${pad(input.quality, 2)}/${pad(input.chunk, 8)}.ivf`,
  };
}

export const vpxencMachine = createConnectionMachine({
  id: 'vpxenc',
  vars: (input: VpxencInput) => ({ chunk: input.chunk, video: input.video, inFormat: input.inFormat, quality: input.quality }),
  answerTimeoutMs: (input) => input.answerTimeoutMs,
  blocks: [
    commandList('configure', [
      'set:cmdinfile:##TMPDIR##/{chunk:08}.y4m',
      'set:cmdoutfile:##TMPDIR##/{chunk:08}.ivf',
      'set:cmdquality:{quality}',
      'set:inkey:{video}-{inFormat}/{chunk:08}.y4m',
      'set:targfile:##TMPDIR##/{chunk:08}.y4m',
      'set:fromfile:##TMPDIR##/{chunk:08}.ivf',
      'set:outkey:{video}-vpxenc_q{quality:02}/{chunk:08}.ivf',
      'seti:nonblock:0',
    ]),
    commandList('fetch', ['retrieve:']),
    commandList('encode', [{ send: 'run:', expect: 'OK:RETVAL(0)' }]),
    commandList('upload', ['upload:']),
  ],
});

const JOB = 'Job';

/**
 * @example await runJob(vpxenc, { parts: 4, video: 'sintel-1k', quality: 30 })
 */
export const vpxenc = defineJob({
  name: 'vpxenc',
  description: 'Y4M chunks VIDEO-INFMT/%08d.y4m -> VP8 IVF VIDEO-vpxenc_qYY/%08d.ivf with vpxenc, one chunk per worker',
  options: optionTable({
    ...CHUNKED_FRAME_OPTIONS,
    inFormat: {
      flag: 'in-format', short: 'i', type: 'string', arg: 'NAME', section: JOB, default: 'y4m_06', pattern: /^[^/\s]+$/,
      expected: "a non-empty name without '/' or spaces", help: 'input format (folder suffix)',
    },
    quality: { flag: 'quality', short: 'Y', type: 'integer', section: JOB, min: 0, max: 63, default: 30, help: "vpxenc's --cq-level (0 best, 63 worst)" },
  }),
  plan: ({ parts, offset, video, inFormat, quality }) => {
    checkKeyNumbers('the last chunk number', offset + parts - 1, '-o or -n');
    return {
      firstChunk: offset,
      title: `vpxenc · ${parts} chunk${parts === 1 ? '' : 's'} at quality ${quality}`,
      inputName: 'input chunk',
      missingHint: `copy Y4M chunks in with 'xc-orch store put DIR ${video}-${inFormat}', or make them with 'xc-orch run png2y4m'`,
      chunks: Array.from({ length: parts }, (_, i) => {
        const input = { chunk: offset + i, video, inFormat, quality };
        const keys = vpxencKeys(input);
        return { input, inputs: [keys.inputKey], outputs: [keys.outputKey] };
      }),
    };
  },
  machine: vpxencMachine,
  worker: { command: VPXENC_COMMAND, executables: ['vpxenc'] },
});
