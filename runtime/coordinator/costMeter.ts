/**
 * Worker-seconds of a run, live and per worker: a worker counts from its start (its process
 * spawned, or its Lambda Invoke accepted; its hello for a worker started by hand) to its end (its
 * connection closed, its process exited, its launch failed). O(1) per event and per read, so the
 * status line and the dashboard can show the running total at thousands of workers.
 *
 * @example
 * const meter = new CostMeter();
 * meter.start('i3', performance.now()); // ... later
 * meter.end('i3', performance.now());
 * meter.totalMs(performance.now()); // worker-ms so far, live workers included
 */

/** A worker's key: `i<invocation>`, or `c<connection>` for a worker started by hand. */
export type WorkerKey = `i${number}` | `c${number}`;

export const workerKey = (invocation: number | undefined, connection: number): WorkerKey =>
  invocation === undefined ? `c${connection}` : `i${invocation}`;

export class CostMeter {
  private readonly started = new Map<WorkerKey, number>();
  private readonly durations = new Map<WorkerKey, number>();
  private readonly endTimes = new Map<WorkerKey, number>();
  private liveStartSum = 0;
  private endedMs = 0;

  /** A worker started at `atMs`; a later start of the same worker (accepted, then spawned) moves it. */
  start(key: WorkerKey, atMs: number): void {
    const was = this.started.get(key);
    if (was !== undefined) this.liveStartSum -= was;
    else if (this.durations.has(key)) return; // already ended: a late report changes nothing
    this.started.set(key, atMs);
    this.liveStartSum += atMs;
  }

  /** A worker ended at `atMs`; a later end (its process exiting after its connection closed) extends it. */
  end(key: WorkerKey, atMs: number): void {
    const startMs = this.started.get(key);
    if (startMs !== undefined) {
      this.started.delete(key);
      this.liveStartSum -= startMs;
      const ms = Math.max(0, atMs - startMs);
      this.durations.set(key, ms);
      this.endTimes.set(key, atMs);
      this.endedMs += ms;
      return;
    }
    const ms = this.durations.get(key);
    const endedAt = this.endTimes.get(key);
    if (ms === undefined || endedAt === undefined || atMs <= endedAt) return;
    this.durations.set(key, ms + atMs - endedAt);
    this.endTimes.set(key, atMs);
    this.endedMs += atMs - endedAt;
  }

  /** End every worker still counted (the run is over: the launcher has stopped them). */
  endAll(atMs: number): void {
    for (const key of [...this.started.keys()]) this.end(key, atMs);
  }

  /** Every worker's ms, live ones up to `nowMs`. */
  forEach(nowMs: number, visit: (key: WorkerKey, ms: number) => void): void {
    for (const [key, ms] of this.durations) visit(key, ms);
    for (const [key, startMs] of this.started) visit(key, Math.max(0, nowMs - startMs));
  }

  /** Worker-ms so far, live workers up to `nowMs`. */
  totalMs(nowMs: number): number {
    return this.endedMs + this.started.size * nowMs - this.liveStartSum;
  }

  /** One worker's ms (live: up to `nowMs`), undefined if it never started. */
  msOf(key: WorkerKey, nowMs: number): number | undefined {
    const startMs = this.started.get(key);
    if (startMs !== undefined) return Math.max(0, nowMs - startMs);
    return this.durations.get(key);
  }
}
