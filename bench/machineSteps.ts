/**
 * bench/machineSteps: what one answer costs the coordinator's machinery in memory (no sockets, no
 * TLS), and how much of that is warm-up. Run by hand: `npm run bench:machine-steps [-- N RUNS]`
 * (default N = 2000 connections, 5 runs).
 *
 * The png2y4m conversation (the same script `bench/swarm` plays, recorded from the machine) is
 * held with N connections at once, each answered in turn as the swarm's workers answer (the
 * answers `bench/swarmClients.ts` gives), by three drivers, each in a fresh process (JIT state is
 * per process), alternating within each run:
 *   - bare: an index into the recorded script, what the echo baseline does per answer;
 *   - flat xstate: one XState state per round trip, emitting the same commands: XState's own floor
 *     for this conversation;
 *   - png2y4m: the job's machine, wired as the coordinator wires it (answer deadline on the coarse
 *     clock, `worker.command` handler, a snapshot subscriber).
 * Reported per driver: µs per answer over the first 100 connections, the next 100, ... up to 500
 * (the warm-up: the same code in a fresh process), and over a second pass of N (steady), medians
 * of RUNS. The differences are the point: flat - bare is XState's cost, png2y4m - flat is what our
 * blocks add to it. In `bench/swarm` every connection is in the first pass: at N = 2000 the warm-up
 * is part of what the coordinator pays.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createActor, emit, setup } from 'xstate';
import { png2y4mMachine } from '../jobs/png2y4m.js';
import { CoarseClock } from '../runtime/coordinator/coarseClock.js';
import { withAnswerDeadline } from '../runtime/coordinator/answerDeadline.js';
import { median } from './median.js';
import { recordScript } from './swarmScript.js';
import { swarmAnswer, swarmVals } from './swarmClients.js';

const FRAMES = 6;
const BATCH = 100;
const BATCHES = 5;
const VIDEO = 'sintel-1k';
const PLAN = { command: 'png2y4m' };
const DRIVERS = ['bare', 'flat xstate', 'png2y4m'] as const;
type DriverName = (typeof DRIVERS)[number];

/** One connection as a driver holds it: answers in, commands out through `send`. */
interface Connection {
  answer(text: string): void;
}
type Open = (chunk: number, send: (text: string) => void) => Connection;

function bareDriver(script: readonly (readonly string[])[]): Open {
  return (_chunk, send) => {
    let step = 0;
    let owed = script[0]!.length;
    for (const command of script[0]!) send(command);
    return {
      answer(text) {
        if (!text.startsWith('OK')) throw new Error(`bare: unexpected ${text}`);
        if (--owed > 0) return;
        step++;
        const group = script[step];
        if (group === undefined) return send('quit:');
        owed = group.length;
        for (const command of group) send(command);
      },
    };
  };
}

function flatDriver(script: readonly (readonly string[])[]): Open {
  const states: Record<string, object> = {};
  script.forEach((group, i) => {
    if (group.length !== 1) throw new Error('flat xstate: the script has a round trip of several commands');
    states[`s${i}`] = {
      entry: { type: 'send', params: { text: group[0]! } },
      on: { 'socket.message': [{ guard: 'ok', target: i + 1 < script.length ? `s${i + 1}` : 'done' }, { target: 'failed' }] },
    };
  });
  const machine = setup({
    types: { events: {} as { type: 'socket.message'; text: string }, emitted: {} as { type: 'worker.command'; text: string } },
    actions: { send: emit((_, params: { text: string }) => ({ type: 'worker.command' as const, text: params.text })) },
    guards: { ok: ({ event }) => event.text.startsWith('OK') },
  }).createMachine({
    id: 'flat',
    initial: 's0',
    states: { ...states, done: { type: 'final', entry: { type: 'send', params: { text: 'quit:' } } }, failed: { type: 'final' } },
  });
  return (_chunk, send) => {
    const actor = createActor(machine);
    actor.on('worker.command', ({ text }) => send(text));
    actor.start();
    return { answer: (text) => actor.send({ type: 'socket.message', text }) };
  };
}

function png2y4mDriver(clock: CoarseClock): Open {
  return (chunk, send) => {
    const actor = createActor(png2y4mMachine, { input: { chunk, frames: FRAMES, video: VIDEO, inFormat: 'png16' } });
    const timed = withAnswerDeadline(actor, clock);
    timed.on('worker.command', ({ text }) => send(text));
    // As the coordinator keeps it: the last active snapshot, named only when asked.
    const seen: { lastActive?: unknown } = {};
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status === 'active') seen.lastActive = snapshot;
      },
      complete: () => timed.stop(),
    });
    actor.start();
    return { answer: (text) => timed.send({ type: 'socket.message', text }) };
  };
}

/** Hold `count` conversations at once, answering round-robin; µs per answer. */
function pass(open: Open, first: number, count: number): number {
  // A connection's first command goes out while it opens, so answers name its holder.
  const due: Array<[{ connection?: Connection }, string]> = [];
  let quits = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const vals = swarmVals(`file:/bench-${first + i}`);
    const holder: { connection?: Connection } = {};
    const send = (text: string) => {
      if (text === 'quit:') return void quits++;
      for (const answer of swarmAnswer(text, vals, PLAN) ?? []) due.push([holder, answer]);
    };
    holder.connection = open(first + i, send);
  }
  for (let k = 0; k < due.length; k++) due[k]![0].connection!.answer(due[k]![1]);
  const us = ((performance.now() - start) * 1000) / due.length;
  if (quits !== count) throw new Error(`${quits} of ${count} conversations ended`);
  return us;
}

interface DriverResult {
  warmup: number[];
  steady: number;
  answersPerConnection: number;
}

function runDriver(name: DriverName, n: number): DriverResult {
  const script = recordScript(FRAMES);
  const clock = new CoarseClock();
  const open = name === 'bare' ? bareDriver(script) : name === 'flat xstate' ? flatDriver(script) : png2y4mDriver(clock);
  const warmup: number[] = [];
  for (let b = 0; b < BATCHES; b++) warmup.push(pass(open, b * BATCH, BATCH));
  const steady = pass(open, BATCHES * BATCH, n);
  return { warmup, steady, answersPerConnection: script.length };
}

function runInFreshProcess(name: DriverName, n: number): DriverResult {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [self, '--driver', name, String(n)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`driver ${name} failed: ${child.stderr.trim()}`);
  return JSON.parse(child.stdout) as DriverResult;
}

function main(argv: readonly string[]): void {
  if (argv[0] === '--driver') {
    process.stdout.write(JSON.stringify(runDriver(argv[1] as DriverName, Number(argv[2]))));
    return;
  }
  const n = Number(argv[0] ?? 2000);
  const runs = Number(argv[1] ?? 5);
  if (!(n > 0 && runs > 0)) throw new Error('usage: npm run bench:machine-steps [-- N RUNS]');
  const results = new Map<DriverName, DriverResult[]>(DRIVERS.map((d) => [d, []]));
  const loads: number[] = [];
  for (let run = 0; run < runs; run++) {
    // The order rotates between runs, so that no driver always runs first.
    for (let i = 0; i < DRIVERS.length; i++) {
      const name = DRIVERS[(run + i) % DRIVERS.length]!;
      results.get(name)!.push(runInFreshProcess(name, n));
    }
    loads.push(loadavg()[0]!);
  }
  const header = Array.from({ length: BATCHES }, (_, b) => `connections ${b * BATCH + 1}-${(b + 1) * BATCH}`);
  console.log(`node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ${runs} runs; load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
  console.log(`${results.get('bare')![0]!.answersPerConnection} round trips per connection; µs per answer (median)\n`);
  console.log(`| driver | ${header.join(' | ')} | steady (${n} more) | warm-up over steady, first ${BATCHES * BATCH} connections (ms) |`);
  console.log(`|---|${header.map(() => '---:').join('|')}|---:|---:|`);
  const steadyOf = new Map<DriverName, number>();
  for (const name of DRIVERS) {
    const list = results.get(name)!;
    const warmup = header.map((_, b) => median(list.map((r) => r.warmup[b]!)));
    const steady = median(list.map((r) => r.steady));
    steadyOf.set(name, steady);
    const answers = BATCH * list[0]!.answersPerConnection;
    const extraMs = warmup.reduce((sum, us) => sum + ((us - steady) * answers) / 1000, 0);
    console.log(`| ${name} | ${warmup.map((us) => us.toFixed(1)).join(' | ')} | ${steady.toFixed(1)} | ${extraMs.toFixed(0)} |`);
  }
  const [bare, flat, job] = DRIVERS.map((d) => steadyOf.get(d)!);
  console.log(`\nsteady: XState's floor (flat - bare) ${(flat! - bare!).toFixed(1)} µs per answer; our blocks over it (png2y4m - flat) ${(job! - flat!).toFixed(1)} µs; png2y4m / flat ${(job! / flat!).toFixed(2)}x`);
}

// Run only as the entry point (the bundle `npm run bench:machine-steps` builds), never when imported.
if (process.argv[1] !== undefined && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2));
}
