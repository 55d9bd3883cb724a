/**
 * An in-memory mu worker for driving connection machines without sockets: it receives every
 * `worker.command` the machine emits and answers as mu's worker would (mu-reference section 2),
 * with knobs to misbehave: answer `FAIL(...)`, answer something unexpected, send `INFO:` lines, go
 * silent, close the connection, or hold answers back and release them in another order.
 *
 * @example
 * const actor = createActor(png2y4mMachine, { input });
 * const worker = new SimulatedWorker({ rules: [{ when: /^run:/, then: { fail: 'boom' }, times: 1 }] }).attach(actor);
 * actor.start();
 */
import { answers, splitCommand } from '../../protocol/messages.js';
import type { ConnectionEvent } from '../../machines/events.js';

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
  bucket?: string;
  /** Variables the worker starts with (as if set earlier). */
  vals?: Readonly<Record<string, string>>;
}

/** The part of a connection actor the simulated worker needs. */
export interface ConnectionEndpoint {
  send(event: ConnectionEvent): void;
  on(type: 'worker.command', handler: (event: { type: 'worker.command'; text: string }) => void): { unsubscribe(): void };
}

export class SimulatedWorker {
  /** Every command received, in order. */
  readonly commands: string[] = [];
  readonly vals = new Map<string, string>();
  /** Answers held back (delivery `held`). */
  readonly outbox: string[] = [];
  quit = false;
  closed = false;
  private readonly rules: Array<Rule & { used: number }>;
  private delivery: 'immediate' | 'held';
  private readonly bucket: string;
  private endpoint: ConnectionEndpoint | undefined;

  constructor(options: SimulatedWorkerOptions = {}) {
    this.rules = (options.rules ?? []).map((rule) => ({ ...rule, used: 0 }));
    this.delivery = options.delivery ?? 'immediate';
    this.bucket = options.bucket ?? 'bucket';
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

  /** The answers mu's worker gives, without side effects beyond `vals`. */
  answer(command: string): string[] {
    const { name, arg } = splitCommand(command);
    switch (name) {
      case 'set':
      case 'seti': {
        const colon = arg.indexOf(':');
        if (colon <= 0) return [answers.fail(`invalid syntax for ${name.toUpperCase()}`)];
        const key = arg.slice(0, colon);
        const value = arg.slice(colon + 1);
        if (name === 'seti' && !/^-?\d+$/.test(value)) return [answers.fail(`could not interpret ${value} as an integer`)];
        this.vals.set(key, value);
        return [name === 'set' ? answers.set(key) : answers.seti(key)];
      }
      case 'get':
      case 'geti': {
        const value = this.vals.get(arg);
        if (value === undefined) return [answers.fail(`no such variable ${arg}`)];
        return name === 'get' ? [answers.get(value)] : [answers.info(arg, value), answers.geti(arg)];
      }
      case 'dump_vals':
        return [answers.dumpVals([...this.vals].map(([k, v]) => `${k}=${v}`).join(','))];
      case 'retrieve': {
        const key = arg ? arg.split('\0')[0]! : this.vals.get('inkey');
        return key === undefined ? [answers.fail('no such variable inkey')] : [answers.retrieve(this.bucket, key)];
      }
      case 'upload': {
        const key = arg ? arg.split('\0')[0]! : this.vals.get('outkey');
        return key === undefined ? [answers.fail('no such variable outkey')] : [answers.upload(this.bucket, key)];
      }
      case 'run':
        return [answers.retval(0, '', arg || 'png2y4m -i -d -o ##OUTFILE## ##INFILE##')];
      case 'echo':
        return [answers.echo(arg)];
      case 'quit':
        this.quit = true;
        return [];
      default:
        return [answers.fail(`no such command '${name}'`)];
    }
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
