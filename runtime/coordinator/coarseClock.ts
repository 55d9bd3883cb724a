/**
 * The clock of every connection's answer deadline (answerDeadline.ts): deadlines land in
 * per-second buckets checked by one timer, instead of a Node timer each. A deadline fires up to one
 * resolution late, never early. It has XState's clock interface, so tests swap in XState's
 * SimulatedClock.
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

/** How often the buckets are checked; also how late a deadline may fire. */
export const COARSE_CLOCK_RESOLUTION_MS = 1_000;

interface Pending {
  readonly fn: () => void;
  readonly due: number;
}

/**
 * @example
 * const clock = new CoarseClock();
 * const connection = withAnswerDeadline(createActor(machine, { input }), clock); // its one timer runs while a deadline is pending
 */
export class CoarseClock implements Clock {
  /** Ticks since the timer started at `origin`; a deadline is the first tick at or after it. */
  private tick = 0;
  private origin = 0;
  private readonly buckets = new Map<number, Set<Pending>>();
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs = COARSE_CLOCK_RESOLUTION_MS) {}

  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, timeout: number): Pending {
    this.pending++;
    if (this.timer === undefined) this.start();
    // Tick k comes no earlier than origin + k * resolution (less the millisecond the timer's own
    // clock may be behind), so this one is never early.
    const due = Math.max(this.tick + 1, Math.ceil((performance.now() - this.origin + Math.max(0, timeout) + 1) / this.resolutionMs));
    const entry: Pending = { fn, due };
    let bucket = this.buckets.get(due);
    if (!bucket) this.buckets.set(due, (bucket = new Set()));
    bucket.add(entry);
    return entry;
  }

  clearTimeout(entry: Pending | undefined): void {
    if (!entry || this.buckets.get(entry.due)?.delete(entry) !== true) return;
    if (--this.pending === 0) this.idle();
  }

  private start(): void {
    this.buckets.clear();
    this.tick = 0;
    this.origin = performance.now();
    // Unreferenced: a deadline alone does not keep the process alive (the coordinator's sockets do).
    this.timer = setInterval(() => this.advance(), this.resolutionMs).unref();
  }

  private advance(): void {
    const bucket = this.buckets.get(++this.tick);
    if (!bucket) return;
    this.buckets.delete(this.tick);
    this.pending -= bucket.size;
    for (const entry of bucket) entry.fn();
    if (this.pending === 0) this.idle();
  }

  private idle(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
