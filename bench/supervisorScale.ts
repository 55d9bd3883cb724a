/**
 * bench/supervisorScale: the supervisor machine alone, N workers through it (launch accepted, hello,
 * finished: 3 events each), to check that its cost per event stays flat as N grows. Run by hand:
 * `npx esbuild bench/supervisorScale.ts --bundle --platform=node --format=esm --packages=external
 *  --outfile=node_modules/.cache/xc-orch-bench/supervisorScale.mjs && node
 *  node_modules/.cache/xc-orch-bench/supervisorScale.mjs 5000,20000,100000`.
 */
import { createActor } from 'xstate';
import { supervisorMachine } from '../machines/supervisor.js';

const sizes = (process.argv[2] ?? '1000,5000,20000,100000').split(',').map(Number);
for (const parts of sizes) {
  const actor = createActor(supervisorMachine, { input: { parts, spares: 0 } });
  actor.on('worker.admitted', () => undefined);
  actor.start();
  const start = performance.now();
  for (let i = 0; i < parts; i++) actor.send({ type: 'launch.accepted', invocation: i });
  for (let i = 0; i < parts; i++) actor.send({ type: 'worker.hello', connection: i, invocation: i });
  for (let i = 0; i < parts; i++) actor.send({ type: 'worker.finished', connection: i, chunk: i });
  const ms = performance.now() - start;
  const status = actor.getSnapshot().status;
  process.stdout.write(`${parts} workers: ${3 * parts} events in ${ms.toFixed(0)} ms, ${((ms * 1000) / (3 * parts)).toFixed(1)} µs/event, supervisor ${status}\n`);
}
