/**
 * ExCamera's encoder for one chunk (mu's `xcenc_server.py` in its `-K` mode, issue 10): chunk c sits
 * at place e = c mod K of its group. Every chunk encodes with vpxenc and dumps the decoder state it
 * ends in (pass 0, sent on as `STATE(0)`); a group's head stops there, its key frame starts the group.
 * Place 1 rebases onto its predecessor's pass-0 state (pass 1), places 2.. then rebase again onto
 * the predecessor's final state (pass 2), a chain through the group. States travel between workers
 * over the relay; the worker's own variables and placeholders do the rest (worker/stateFiles.ts).
 * Timelines read `setup.collect`, `pass0.vpxenc`, `pass0.xc_dump`, `rebase.pass.xc_enc`, `upload.upload`
 * (with `-u` also `keepFirst.first.upload`, `keepState.finalState.upload`).
 */
import { commandList, forLoop, pipelined } from './blocks.js';
import type { CommandScope } from './commandTemplate.js';
import { createConnectionMachine } from './connectionMachine.js';
import { DEFAULT_ANSWER_TIMEOUT_MS } from './connectionSetup.js';
import { vpxencCommand } from './vpxencCommand.js';

/** How long workers wait for a state by default (the worker's `stateWaitMs`, worker/stateFiles.ts). */
export const DEFAULT_XCENC_STATE_WAIT_MS = 600_000;

/** One chunk of the job, as its plan gives it (jobs/xcenc.ts). */
export interface XcencChunkInput {
  /** Absolute chunk number c (the run's offset already added). */
  chunk: number;
  /** The run's last chunk: it is the last of its group even when the group is short. */
  lastChunk: number;
  /** Chunks per group, K >= 1: place e = c mod K; each group starts with a key frame. */
  groupSize: number;
  /** Video name, the key prefix (`sintel-1k`). */
  video: string;
  /** Input format, the key suffix of the chunks' folder (`y4m_06`). */
  inFormat: string;
  /** vpxenc's `--cq-level` (0-63). */
  quality: number;
  /** The run's name at the relay (`HELLO_STATE:RUN:c:c+1`): printable, no `:`. */
  runId: string;
  /**
   * How long the workers wait for a state (their payload's `state_wait_s`); default
   * {@link DEFAULT_XCENC_STATE_WAIT_MS}. Only used to derive the answer timeout.
   */
  stateWaitMs?: number;
  /** Also upload pass 0's vpxenc output and the final decoder state (mu's `-u`). Default false. */
  keepIntermediates?: boolean;
}

/** What the machine starts with: the chunk, and what the run adds (jobs/defineJob.ts `RunInput`). */
export interface XcencInput extends XcencChunkInput {
  /** Where the workers reach the relay; the coordinator gives it to jobs with `relay: true`. */
  relay?: { host: string; port: number };
  /**
   * Bound on an answer once any state it needs is there; default 120 s. Every answer is allowed
   * `stateWaitMs` on top, since a `run:` answers only after its wait, so a state that never
   * arrives is reported by the worker, naming it (`FAIL(run: 0.state did not arrive within 600 s)`).
   */
  answerTimeoutMs?: number;
}

/** The store keys a chunk reads and writes. */
export interface XcencChunkKeys {
  /** `VIDEO-INFMT/C.y4m`. */
  inputKey: string;
  /** `VIDEO/out_Q_kK/C.ivf`: the chunk's part of the joined stream. */
  outputKey: string;
  /** `VIDEO/first_Q/C.ivf`: pass 0's vpxenc output, before any rebase (kept with `-u`). */
  firstKey: string;
  /** `VIDEO/final_state_Q_kK/C.state`: the decoder state the chunk's output ends in (kept with `-u`). */
  finalStateKey: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * @example xcencChunkKeys({ chunk: 2, video: 'sintel-1k', inFormat: 'y4m_06', quality: 30, groupSize: 16 })
 * // { inputKey: 'sintel-1k-y4m_06/00000002.y4m', outputKey: 'sintel-1k/out_30_k16/00000002.ivf',
 * //   firstKey: 'sintel-1k/first_30/00000002.ivf', finalStateKey: 'sintel-1k/final_state_30_k16/00000002.state' }
 */
export function xcencChunkKeys(input: Pick<XcencInput, 'chunk' | 'video' | 'inFormat' | 'quality' | 'groupSize'>): XcencChunkKeys {
  const { chunk, video, inFormat, quality, groupSize } = input;
  const c = pad(chunk, 8);
  return {
    inputKey: `${video}-${inFormat}/${c}.y4m`,
    outputKey: `${video}/out_${quality}_k${groupSize}/${c}.ivf`,
    firstKey: `${video}/first_${quality}/${c}.ivf`,
    finalStateKey: `${video}/final_state_${quality}_k${groupSize}/${c}.state`,
  };
}

/** The encode of pass 0, ExCamera's vpxenc command (deterministic with `--threads=1`); quality from `cmdquality`. */
export const XCENC_VPXENC_COMMAND = vpxencCommand('"##TMPDIR##/output.ivf"', '"##TMPDIR##/input.y4m"');

/**
 * The rebase of passes 1 and 2: the worker holds it until the state it needs is there and fills in
 * `-r -I ... -p prev.ivf [-S 0.state]` from `run_iter` (mu's placeholders).
 */
export const XCENC_REBASE_COMMAND =
  '##INSTATEWAIT## xc-enc ##QUALITY## -w 0.75 -i y4m -O "##TMPDIR##/final.state" -o "##TMPDIR##/output.ivf" ' +
  '##INSTATESWITCH## "##TMPDIR##/input.y4m" 2>&1';

/**
 * Pass 1 reads `0.state`, so it is `run_iter` 1; pass 2 reads the predecessor's final state, which
 * that worker sent as `STATE(e-1)`, so it is `run_iter` e.
 */
function rebaseRunIter({ vars }: CommandScope): string {
  return `seti:run_iter:${vars.pass === 1 ? 1 : vars.place}`;
}

/** A worker sends its state after its last pass only (and after pass 0), never past its group's end. */
function rebaseSendsState({ vars }: CommandScope): string {
  return `seti:send_statefile:${vars.pass === vars.lastPass && vars.lastOfGroup === 0 ? 1 : 0}`;
}

/**
 * @example
 * const actor = createActor(xcencMachine, { input: { chunk: 5, lastChunk: 7, groupSize: 4, video: 'v', inFormat: 'y4m_06',
 *   quality: 30, runId: 'r1', relay: { host: '127.0.0.1', port: 13337 } } });
 */
export const xcencMachine = createConnectionMachine({
  id: 'xcenc',
  vars: (input: XcencInput) => {
    if (!Number.isInteger(input.groupSize) || input.groupSize < 1) throw new RangeError(`xcenc: groupSize must be a whole number >= 1, got ${input.groupSize}`);
    if (!(input.chunk <= input.lastChunk)) throw new RangeError(`xcenc: chunk ${input.chunk} is past the run's last chunk ${input.lastChunk}`);
    if (!input.relay) throw new RangeError(`xcenc: no relay address in the input: the coordinator gives one to jobs with relay: true`);
    const place = input.chunk % input.groupSize;
    const keys = xcencChunkKeys(input);
    return {
      chunk: input.chunk,
      next: input.chunk + 1,
      place,
      lastPass: Math.min(place, 2),
      lastOfGroup: place === input.groupSize - 1 || input.chunk === input.lastChunk ? 1 : 0,
      quality: input.quality,
      relayHost: input.relay.host,
      relayPort: input.relay.port,
      runId: input.runId,
      inputKey: keys.inputKey,
      outputKey: keys.outputKey,
      firstKey: keys.firstKey,
      finalStateKey: keys.finalStateKey,
      keep: input.keepIntermediates ? 1 : 0,
    };
  },
  answerTimeoutMs: (input) => (input.stateWaitMs ?? DEFAULT_XCENC_STATE_WAIT_MS) + (input.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS),
  blocks: [
    // Set before anything runs (commands are served in arrival order): background runs, so that a
    // pass's state is sent when it ends; silent, one answer per command.
    pipelined('setup', [
      'seti:nonblock:1',
      'seti:bg_silent:1',
      'seti:expect_statefile:1',
      // Pass 2 recodes pass 1's output, which was made from 0.state, whatever e is.
      'seti:minimal_recode:1',
      'connect:{relayHost}:{relayPort}:HELLO_STATE:{runId}:{chunk}:{next}',
      { send: 'retrieve:{inputKey}\0##TMPDIR##/input.y4m', expect: 'OK:RETRIEVE(' },
    ]),
    commandList('pass0', [
      'seti:run_iter:0',
      'set:cmdquality:{quality}',
      { name: 'set_send_statefile', send: ({ vars }) => `seti:send_statefile:${vars.lastOfGroup === 0 ? 1 : 0}`, expect: 'OK:SETI' },
      { name: 'vpxenc', send: `run:${XCENC_VPXENC_COMMAND}`, expect: 'OK:RETVAL(0)' },
      // Sends STATE(0) and keeps output.ivf as prev.ivf, which pass 1 rebases.
      { name: 'xc_dump', send: 'run:xc-dump "##TMPDIR##/output.ivf" "##TMPDIR##/final.state"', expect: 'OK:RETVAL(0)' },
    ]),
    // A loop run once with -u, never without: keeps vpxenc's output before any rebase changes it.
    forLoop('keepFirst', {
      counter: 'kept',
      from: 1,
      to: 'keep',
      body: commandList('first', [{ name: 'upload', send: 'upload:{firstKey}\0##TMPDIR##/output.ivf', expect: 'OK:UPLOAD(' }]),
    }),
    forLoop('rebase', {
      counter: 'pass',
      from: 1,
      to: 'lastPass',
      body: commandList('pass', [
        { name: 'set_run_iter', send: rebaseRunIter, expect: 'OK:SETI' },
        'set:cmdquality:',
        { name: 'set_send_statefile', send: rebaseSendsState, expect: 'OK:SETI' },
        { name: 'xc_enc', send: `run:${XCENC_REBASE_COMMAND}`, expect: 'OK:RETVAL(0)' },
      ]),
    }),
    commandList('upload', [{ send: 'upload:{outputKey}\0##TMPDIR##/output.ivf', expect: 'OK:UPLOAD(' }]),
    forLoop('keepState', {
      counter: 'kept',
      from: 1,
      to: 'keep',
      body: commandList('finalState', [{ name: 'upload', send: 'upload:{finalStateKey}\0##TMPDIR##/final.state', expect: 'OK:UPLOAD(' }]),
    }),
  ],
});
