/**
 * An example job file, written against the public API as a user would: mu's stitch, joining
 * pairs of consecutive Y4M chunks `VIDEO-INFMT/%08d.y4m` into one (`VIDEO-stitched/%08d.y4m`,
 * numbered by pair). Run it with `xc-orch run examples/stitch.ts -v sintel-1k -n 2`.
 */
import { commandList, createConnectionMachine, defineJob } from 'xc-orch';

interface StitchInput {
  pair: number;
  first: string;
  second: string;
  out: string;
  answerTimeoutMs?: number;
}

const pad = (n: number) => String(n).padStart(8, '0');

const stitchMachine = createConnectionMachine({
  id: 'stitch',
  vars: (input: StitchInput) => ({ first: input.first, second: input.second, out: input.out }),
  answerTimeoutMs: (input) => input.answerTimeoutMs,
  blocks: [
    commandList('fetch', [
      'seti:nonblock:0',
      'set:inkey:{first}',
      'set:targfile:##TMPDIR##/a.y4m',
      'retrieve:',
      'set:inkey:{second}',
      'set:targfile:##TMPDIR##/b.y4m',
      'retrieve:',
    ]),
    // The second chunk's stream header is its first line; its frames follow the first chunk's.
    commandList('join', [{ send: 'run:{ cat ##TMPDIR##/a.y4m; tail -n +2 ##TMPDIR##/b.y4m; } > ##TMPDIR##/out.y4m', expect: 'OK:RETVAL(0)' }]),
    commandList('upload', ['set:fromfile:##TMPDIR##/out.y4m', 'set:outkey:{out}', 'upload:']),
  ],
});

export default defineJob({
  name: 'stitch',
  description: 'join pairs of consecutive Y4M chunks into one',
  options: {
    parts: { flag: 'pairs', short: 'n', type: 'integer', min: 1, max: 10_000, default: 1, help: 'pairs of chunks, one worker each' },
    video: { flag: 'video', short: 'v', type: 'string', default: 'sintel-1k', help: 'video name (key prefix)' },
    inFormat: { flag: 'in-format', short: 'i', type: 'string', default: 'y4m_06', help: 'format of the chunks (folder suffix)' },
  },
  plan: ({ parts, video, inFormat }) => ({
    chunks: Array.from({ length: parts }, (_, pair) => {
      const first = `${video}-${inFormat}/${pad(2 * pair)}.y4m`;
      const second = `${video}-${inFormat}/${pad(2 * pair + 1)}.y4m`;
      const out = `${video}-stitched/${pad(pair)}.y4m`;
      return { input: { pair, first, second, out }, inputs: [first, second], outputs: [out] };
    }),
  }),
  machine: stitchMachine,
  worker: { executables: ['tail'] },
});
