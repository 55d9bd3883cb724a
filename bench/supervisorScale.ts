/**
 * bench/supervisorScale: the supervisor machine alone, N workers through it, to check that its cost
 * per event stays flat as N grows. Two runs per N, in the same process: the baseline (retries and
 * speculation off: launch accepted, hello, finished, 3 events per chunk) and recovery (retries 2,
 * speculation on, an arrival timeout): the same, plus 1% of chunks failing once and retried, 1%
 * straggling until a speculative copy finishes them, and the supervisor's tick running on a
 * simulated clock (250 ms per 200 events) so that arrival deadlines and straggler checks happen.
 * Run by hand:
 * `npx esbuild bench/supervisorScale.ts --bundle --platform=node --format=esm --packages=external
 *  --outfile=node_modules/.cache/xc-orch-bench/supervisorScale.mjs && node
 *  node_modules/.cache/xc-orch-bench/supervisorScale.mjs 5000,20000,100000`.
 */
import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { supervisorMachine, type LauncherInput } from '../machines/supervisor.js';
import type { LauncherEvent } from '../machines/events.js';

interface Result {
  events: number;
  ms: number;
  status: string;
  ok: boolean;
  retries: number;
  speculative: number;
  cancelled: number;
}

function run(parts: number, recovery: boolean): Result {
  const clock = new SimulatedClock();
  const requests: LauncherEvent[] = [];
  const launcher = fromCallback<EventObject, LauncherInput>(({ receive }) => receive((event) => requests.push(event as LauncherEvent)));
  const actor = createActor(supervisorMachine.provide({ actors: { launcher } }), {
    clock,
    input: recovery ? { parts, spares: 0, retries: 2, speculation: true, arrivalTimeoutMs: 600_000 } : { parts, spares: 0 },
  });
  actor.on('worker.admitted', () => undefined);
  actor.on('worker.cancelled', () => undefined);
  actor.start();
  let events = 0;
  const send = (event: Parameters<typeof actor.send>[0]) => {
    actor.send(event);
    if (++events % 200 === 0 && recovery) clock.increment(250);
  };
  const fails = (chunk: number) => recovery && chunk % 100 === 1;
  const straggles = (chunk: number) => recovery && chunk % 100 === 2;
  const start = performance.now();
  for (let i = 0; i < parts; i++) send({ type: 'launch.accepted', invocation: i });
  for (let i = 0; i < parts; i++) send({ type: 'worker.hello', connection: i, invocation: i });
  for (let i = 0; i < parts; i++) {
    if (fails(i)) send({ type: 'worker.failed', connection: i, chunk: i, reason: 'connection lost', state: 'retrieveLoop' });
    else if (!straggles(i)) send({ type: 'worker.finished', connection: i, chunk: i });
  }
  // Retries and copies, as the launcher was asked for them; copies appear as ticks find stragglers.
  let connection = parts;
  let idleTicks = 0;
  for (let served = 0; actor.getSnapshot().status === 'active'; ) {
    if (served === requests.length) {
      if (++idleTicks > parts) break; // the stragglers were never copied: reported below
      clock.increment(250);
      continue;
    }
    const { invocation, chunk } = requests[served++]!;
    send({ type: 'launch.accepted', invocation });
    send({ type: 'worker.hello', connection, invocation });
    send({ type: 'worker.finished', connection: connection++, chunk });
  }
  const ms = performance.now() - start;
  const snapshot = actor.getSnapshot();
  return { events, ms, status: snapshot.status, ok: snapshot.output?.ok ?? false, ...snapshot.context.recovery };
}

const sizes = (process.argv[2] ?? '1000,5000,20000,100000').split(',').map(Number);
for (const parts of sizes) {
  const base = run(parts, false);
  const rec = run(parts, true);
  const perEvent = (r: Result) => (r.ms * 1000) / r.events;
  const line = (name: string, r: Result) =>
    `${name} ${r.events} events in ${r.ms.toFixed(0)} ms, ${perEvent(r).toFixed(1)} µs/event, supervisor ${r.status}${r.ok ? '' : ' NOT OK'}`;
  process.stdout.write(
    `${parts} chunks: ${line('baseline', base)}; ${line('recovery', rec)} (${rec.retries} retries, ${rec.speculative} copies, ${rec.cancelled} cancelled); ` +
      `recovery/baseline per event ${(perEvent(rec) / perEvent(base)).toFixed(2)}x\n`,
  );
}
