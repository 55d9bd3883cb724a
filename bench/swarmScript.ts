/**
 * The png2y4m conversation the swarm benches hold: one chunk's commands, recorded from the job's
 * machine and answered as `bench/swarmClients.ts` answers, for the baselines that replay it
 * (bench/echoServer.ts, bench/machineSteps.ts).
 */
import { createActor } from 'xstate';
import { png2y4mMachine } from '../jobs/png2y4m.js';
import { swarmAnswer, swarmVals } from './swarmClients.js';

export const VIDEO = 'sintel-1k';
export const IN_FORMAT = 'png16';
export const VIDEO_BUCKET = 'file:/bench-swarm-store';

/**
 * The commands the png2y4m machine sends to one worker, grouped by round trip: each group is what
 * the machine sends at once after one answer (or at start). Recorded from the machine itself, so
 * the baseline can never drift from it; every chunk's script has the same frame sizes (zero-padded
 * numbers), so chunk 0's stands for all. The final `quit:` is left out (the echo server sends it).
 *
 * @example recordScript(2) // [['set:cmdinfile:##TMPDIR##/%08d.png'], ['set:cmdoutfile:...'], ...]
 */
export function recordScript(frames: number): string[][] {
  const actor = createActor(png2y4mMachine, { input: { chunk: 0, frames, video: VIDEO, inFormat: IN_FORMAT } });
  const groups: string[][] = [];
  let current: string[] = [];
  actor.on('worker.command', ({ text }) => current.push(text));
  actor.start();
  const vals = swarmVals(VIDEO_BUCKET);
  const plan = { command: 'png2y4m' };
  for (let round = 0; round < 10_000 && current.length > 0; round++) {
    const sent = current;
    groups.push(sent);
    current = [];
    for (const command of sent) {
      for (const answer of swarmAnswer(command, vals, plan) ?? []) actor.send({ type: 'socket.message', text: answer });
    }
  }
  const output = actor.getSnapshot().output;
  if (output?.status !== 'done') throw new Error(`recording the png2y4m script failed: ${JSON.stringify(output)}`);
  const last = groups[groups.length - 1]!;
  if (last.length !== 1 || last[0] !== 'quit:') throw new Error('the png2y4m script does not end with quit:');
  return groups.slice(0, -1);
}
