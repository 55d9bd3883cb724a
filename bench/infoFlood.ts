/**
 * bench/infoFlood: what `INFO:K:V` answers cost a connection machine (issue 9: each used to copy
 * the whole info record, so 20,000 distinct keys blocked the coordinator for 80 s). Per message,
 * updates spread over a record at its bound (INFO_LIMITS.keys keys) against the baseline of the
 * same number of updates to one key, alternating, in one run; and how long a flood of distinct
 * keys takes to be refused. Run by hand:
 * `npx esbuild bench/infoFlood.ts --bundle --platform=node --format=esm --packages=external
 *  --outfile=node_modules/.cache/xc-orch-bench/infoFlood.mjs && node
 *  node_modules/.cache/xc-orch-bench/infoFlood.mjs 5000,20000 5`.
 */
import { createActor } from 'xstate';
import { infoWatcher } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { INFO_LIMITS } from '../machines/infoRecord.js';

const sizes = (process.argv[2] ?? '5000,20000').split(',').map(Number);
const rounds = Number(process.argv[3] ?? 5);

const machine = createConnectionMachine({ id: 'flood', blocks: [infoWatcher('watch', { key: 'done', present: true })], vars: () => ({}) });

/** Milliseconds for `count` INFO answers with keys from `keyOf`, and how many the actor took before it ended. */
function flood(count: number, keyOf: (i: number) => string): { ms: number; taken: number } {
  const actor = createActor(machine, { input: {} });
  actor.start();
  const start = performance.now();
  let taken = 0;
  for (; taken < count && actor.getSnapshot().status === 'active'; taken++) actor.send({ type: 'socket.message', text: `INFO:${keyOf(taken)}:${taken}` });
  const ms = performance.now() - start;
  actor.stop();
  return { ms, taken };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const count of sizes) {
  const baseline: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < rounds; r++) {
    baseline.push(flood(count, () => 'k').ms);
    full.push(flood(count, (i) => `key${i % INFO_LIMITS.keys}`).ms);
  }
  const distinct = flood(count, (i) => `key${i}`);
  const perMessage = (ms: number) => ((ms * 1000) / count).toFixed(2);
  process.stdout.write(
    `${count} INFO answers: one key ${perMessage(median(baseline))} µs/answer, ${INFO_LIMITS.keys} keys ${perMessage(median(full))} µs/answer ` +
      `(${(median(full) / median(baseline)).toFixed(2)}x, medians of ${rounds}); ${count} distinct keys refused after ${distinct.taken} answers in ${distinct.ms.toFixed(1)} ms\n`,
  );
}
