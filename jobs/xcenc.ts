/**
 * ExCamera's encoder as a job (mu's `xcenc_server.py -K`, issue 10): Y4M chunks `VIDEO-INFMT/%08d.y4m`
 * become VP8 chunks `VIDEO/out_Q_kK/%08d.ivf` that join into one stream with a key frame only at
 * the head of each group of K chunks. The workers pass decoder states to each other through the
 * relay (machines/xcenc.ts); `--join FILE` joins the chunks on this machine afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeError } from '../common/errors.js';
import { optionTable } from '../common/optionTable.js';
import { xcencChunkKeys, xcencMachine, type XcencChunkInput } from '../machines/xcenc.js';
import { writeJoinedIvf } from '../runtime/video/writeJoinedIvf.js';
import { defineJob, type AfterRunContext, type AfterRunResult } from './defineJob.js';
import { CHUNKED_FRAME_OPTIONS, checkKeyNumbers } from './png2y4m.js';

const JOB = 'Job';

export const XCENC_OPTIONS = optionTable({
  ...CHUNKED_FRAME_OPTIONS,
  inFormat: {
    flag: 'in-format', short: 'i', type: 'string', arg: 'NAME', section: JOB, default: 'y4m_06', pattern: /^[^/\s]+$/,
    expected: "a non-empty name without '/' or spaces", help: 'input format (folder suffix)',
  },
  groupSize: {
    flag: 'group-size', short: 'K', type: 'integer', section: JOB, min: 1, max: 100_000, defaultText: 'all chunks, one group',
    help: 'chunks per group: each group starts with a key frame (-o must be a multiple of K)',
  },
  quality: { flag: 'quality', short: 'Y', type: 'integer', section: JOB, min: 0, max: 63, default: 30, help: "vpxenc's --cq-level (0 best, 63 worst)" },
  keepIntermediates: {
    flag: 'upload-intermediates', short: 'u', type: 'boolean', section: JOB,
    help: "also upload pass 0's vpxenc output (VIDEO/first_Q/) and each chunk's\nfinal decoder state (VIDEO/final_state_Q_kK/)",
  },
  join: { flag: 'join', type: 'string', arg: 'FILE', section: JOB, help: 'after the job, join the chunks in order into FILE (a local file)' },
});

/** Join every chunk's output, in chunk order, into the `--join` file. */
async function joinOutputs(file: string, { summary, store }: AfterRunContext): Promise<AfterRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'xc-join-'));
  try {
    const chunks = [...summary.chunks].sort((a, b) => a.chunk - b.chunk);
    const inputs = await Promise.all(
      chunks.map(async ({ chunk, outputs, locations }) => {
        const local = join(dir, `${chunk}.ivf`);
        await store.download(outputs[0]!, local);
        return { name: locations[0] ?? outputs[0]!, bytes: await readFile(local) };
      }),
    );
    const frames = await writeJoinedIvf(file, inputs);
    return { line: `joined ${chunks.length} chunk${chunks.length === 1 ? '' : 's'} (${frames} frames) into ${file}`, outputs: [file] };
  } catch (error) {
    throw new Error(`--join ${file}: ${describeError(error)}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * @example await runJob(xcenc, { parts: 32, groupSize: 16, video: 'sintel-1k', join: 'sintel.ivf' })
 */
export const xcenc = defineJob({
  name: 'xcenc',
  description: "Y4M chunks VIDEO-INFMT/%08d.y4m -> one VP8 stream VIDEO/out_Q_kK/%08d.ivf, ExCamera's workers passing state",
  options: XCENC_OPTIONS,
  plan: ({ parts, offset, video, inFormat, groupSize: given, quality, keepIntermediates }) => {
    checkKeyNumbers('the last chunk number', offset + parts - 1, '-o or -n');
    const groupSize = given ?? parts;
    if (offset % groupSize !== 0) {
      const why = given === undefined ? ` (without -K all ${parts} chunks are one group)` : '';
      throw new ConfigError(
        `-o ${offset} is not a multiple of the group size ${groupSize}${why}: chunk c sits at place c mod K of its group, ` +
          `so a run must start at a group's head (e.g. -o ${offset - (offset % groupSize)})`,
      );
    }
    // The relay may be shared by runs (-H/-T): the run's own name keeps their workers apart.
    const runId = `xcenc-${randomBytes(4).toString('hex')}`;
    const groups = Math.ceil(parts / groupSize);
    return {
      firstChunk: offset,
      title: `xcenc · ${parts} chunk${parts === 1 ? '' : 's'} in ${groups} group${groups === 1 ? '' : 's'} at quality ${quality}`,
      inputName: 'input chunk',
      missingHint: `copy Y4M chunks in with 'xc-orch store put DIR ${video}-${inFormat}', or make them with 'xc-orch run png2y4m'`,
      chunks: Array.from({ length: parts }, (_, i) => {
        const input: XcencChunkInput = {
          chunk: offset + i,
          lastChunk: offset + parts - 1,
          groupSize,
          video,
          inFormat,
          quality,
          runId,
          keepIntermediates,
        };
        const keys = xcencChunkKeys(input);
        return { input, inputs: [keys.inputKey], outputs: [keys.outputKey, ...(keepIntermediates ? [keys.firstKey, keys.finalStateKey] : [])] };
      }),
    };
  },
  machine: xcencMachine,
  relay: true,
  worker: { executables: ['vpxenc', 'xc-enc', 'xc-dump'] },
  afterRun: async ({ join: file }, context) => (file === undefined ? undefined : joinOutputs(file, context)),
});

