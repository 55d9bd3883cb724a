/**
 * An in-memory mu worker for driving connection machines without sockets: it receives every
 * `worker.command` the machine emits and answers as the real worker would if every transfer and
 * command succeeded (test/workerContract.test.ts holds it to worker/commands.ts), with knobs to
 * misbehave: answer `FAIL(...)`, answer something unexpected, send `INFO:` lines, go silent, close
 * the connection, or hold answers back and release them in another order.
 *
 * @example
 * const actor = createActor(png2y4mMachine, { input });
 * const worker = new SimulatedWorker({ rules: [{ when: /^run:/, then: { fail: 'boom' }, times: 1 }] }).attach(actor);
 * actor.start();
 * // With the answer deadline played on a clock: .attach(withAnswerDeadline(actor, clock))
 */
import { answers } from '../../protocol/messages.js';
import { SWARM_TMPDIR, swarmAnswer, swarmVals, type SwarmVals } from '../../bench/swarmClients.js';
import type { ConnectionEndpoint } from '../../runtime/coordinator/answerDeadline.js';

/** What the worker does with a command that matches a rule, instead of its normal answer. */
export type Reaction =
  | { fail: string }
  | { answer: string | readonly string[] }
  | { silent: true }
  | { close: string }
  /** INFO lines sent before the normal answer. */
  | { info: Readonly<Record<string, string>> };

export interface Rule {
  when: string | RegExp | ((command: string) => boolean);
  then: Reaction;
  /** Apply this many times, then fall back to normal behaviour (default: always). */
  times?: number;
}

export interface SimulatedWorkerOptions {
  rules?: Rule[];
  /** `immediate` (default): answers go out as each command arrives; `held`: they wait in `outbox` until `release()`. */
  delivery?: 'immediate' | 'held';
  /** The payload's bucket, the `bucket` variable the worker starts with (default `bucket`). */
  bucket?: string;
  /** The payload's command, what a bare `run:` runs (default png2y4m's). */
  command?: string;
  /** What `##TMPDIR##` becomes (nothing is written there). */
  tmpDir?: string;
  /** Variables the worker starts with (as if set earlier), on top of the real worker's seeds. */
  vals?: Readonly<Record<string, string | number>>;
}

export class SimulatedWorker {
  /** Every command received, in order. */
  readonly commands: string[] = [];
  readonly vals: SwarmVals;
  /** Answers held back (delivery `held`). */
  readonly outbox: string[] = [];
  quit = false;
  closed = false;
  private readonly rules: Array<Rule & { used: number }>;
  private delivery: 'immediate' | 'held';
  private readonly command: string;
  private readonly tmpDir: string;
  private endpoint: ConnectionEndpoint | undefined;

  constructor(options: SimulatedWorkerOptions = {}) {
    this.rules = (options.rules ?? []).map((rule) => ({ ...rule, used: 0 }));
    this.delivery = options.delivery ?? 'immediate';
    this.vals = swarmVals(options.bucket ?? 'bucket');
    this.command = options.command ?? 'png2y4m -i -d -o ##OUTFILE## ##INFILE##';
    this.tmpDir = options.tmpDir ?? SWARM_TMPDIR;
    for (const [key, value] of Object.entries(options.vals ?? {})) this.vals.set(key, value);
  }

  attach(endpoint: ConnectionEndpoint): this {
    this.endpoint = endpoint;
    endpoint.on('worker.command', ({ text }) => this.receive(text));
    return this;
  }

  addRule(rule: Rule): this {
    this.rules.push({ ...rule, used: 0 });
    return this;
  }

  /** From now on, hold answers (`held`) or send them at once (`immediate`). */
  setDelivery(delivery: 'immediate' | 'held'): this {
    this.delivery = delivery;
    return this;
  }

  /** Send held answers: in arrival order, reversed, or in the order of the given outbox indexes. */
  release(order: 'fifo' | 'reverse' | readonly number[] = 'fifo'): void {
    const held = this.outbox.splice(0);
    const sequence = order === 'fifo' ? held : order === 'reverse' ? held.reverse() : order.map((i) => held[i]!);
    for (const text of sequence) this.emit(text);
  }

  sendInfo(key: string, value: string): void {
    this.emit(answers.info(key, value));
  }

  /** Send any frame as if the worker wrote it. */
  say(text: string): void {
    this.emit(text);
  }

  close(reason = 'connection reset'): void {
    if (this.closed) return;
    this.closed = true;
    this.endpoint?.send({ type: 'socket.closed', reason });
  }

  /** The answers the real worker gives when every transfer and command succeeds (bench/swarmClients.ts), with no effect beyond `vals`. */
  answer(command: string): string[] {
    // As the real worker, which serves nothing after quit:.
    if (this.quit) return [];
    const reply = swarmAnswer(command, this.vals, { command: this.command }, this.tmpDir);
    if (reply === null) this.quit = true;
    return [...(reply ?? [])];
  }

  private receive(command: string): void {
    this.commands.push(command);
    if (this.closed) return;
    const rule = this.rules.find((r) => (r.times === undefined || r.used < r.times) && matches(r.when, command));
    if (!rule) return this.reply(this.answer(command));
    rule.used++;
    const then = rule.then;
    if ('fail' in then) this.reply([answers.fail(then.fail)]);
    else if ('answer' in then) this.reply(typeof then.answer === 'string' ? [then.answer] : [...then.answer]);
    else if ('close' in then) this.close(then.close);
    else if ('info' in then) this.reply([...Object.entries(then.info).map(([k, v]) => answers.info(k, v)), ...this.answer(command)]);
    // silent: nothing
  }

  private reply(texts: readonly string[]): void {
    if (this.delivery === 'held') this.outbox.push(...texts);
    else for (const text of texts) this.emit(text);
  }

  private emit(text: string): void {
    if (this.closed) return;
    this.endpoint?.send({ type: 'socket.message', text });
  }
}

function matches(when: Rule['when'], command: string): boolean {
  if (typeof when === 'string') return command === when || command.startsWith(when);
  if (when instanceof RegExp) return when.test(command);
  return when(command);
}
