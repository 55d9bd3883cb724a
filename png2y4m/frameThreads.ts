/**
 * Threads that decode the frames of a sequence ahead of the main thread, which converts them
 * meanwhile: decoding (inflate, unfiltering) and converting cost about the same per frame, so two
 * cores share a sequence. The main thread keeps every side effect in frame order (opening,
 * deleting, messages, output), so the result is byte for byte the single-threaded one; threads
 * only compute. Conversion stays on the main thread: a thread would compile the converter all over
 * again (V8 compiles per isolate), which measured costlier than what it took off the main thread.
 *
 * The entry is `frameThread.js` next to this module (dist/png2y4m/), `png2y4mFrameThread.mjs` next
 * to a bundle (dist/png2y4m.mjs, which bin/png2y4m.js loads, and the Lambda package), or dist's
 * when running from the TypeScript sources (vitest). None found, or a thread that fails: its
 * frames are decoded on the main thread instead.
 *
 * @example
 * const threads = startFrameThreads(1);
 * const decoded = await threads?.decode(0, 1, bytes, { width, height }); // DecodedFrame | FrameFailure
 * await threads?.close();
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DecodedFrame, FrameFailure, FrameShape } from './frameDecoding.js';

export interface FrameRequest {
  k: number;
  bytes: Uint8Array;
  shape: FrameShape;
}

export interface FrameReply {
  k: number;
  decoded: DecodedFrame | FrameFailure;
}

/** Environment variable: how many decoding threads to start (`0`: none), instead of guessing. */
export const THREADS_ENV = 'XC_PNG2Y4M_THREADS';

/** The main thread's conversion is the limit long before this. */
const MAX_THREADS = 3;

/**
 * Decoding threads worth starting for `frames` frames: one per core beyond the main thread's that
 * `busy` other tasks leave idle (default: {@link busyCoresNow}), or `requested` (the {@link THREADS_ENV} value) when it is a
 * number; never more than the frames after the first. A thread only pays when it has a core of
 * its own: competing for a busy one, starting it and compiling its code again cost more CPU than
 * it takes off the main thread (BENCHMARKS.md).
 *
 * @example frameThreadCount(6, undefined, 0) // 1 on a 2-core machine; frameThreadCount(6, undefined, 1) // 0 there
 */
export function frameThreadCount(frames: number, requested: string | undefined, busy?: number): number {
  // The machine is looked at only when the number is not given.
  const asked = requested !== undefined && /^\d+$/.test(requested) ? Number(requested) : availableParallelism() - 1 - (busy ?? busyCoresNow());
  return Math.max(0, Math.min(asked, frames - 1, MAX_THREADS));
}

/**
 * Cores other tasks keep busy right now: on Linux the kernel's count of runnable tasks
 * (`/proc/loadavg`, 4th field) less this one. The 1-minute load average, the fallback elsewhere,
 * lags by a minute: it counts the tool's own previous run, so back-to-back conversions on an idle
 * machine would never start a thread, and it misses a build that started seconds ago.
 */
export function busyCoresNow(): number {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/loadavg', 'latin1');
  } catch {
    line = undefined;
  }
  return busyCores(line, loadavg()[0] ?? 0);
}

/** {@link busyCoresNow} from a `/proc/loadavg` line (`0.37 0.63 0.41 2/79 3794`: 1) or, without one, the 1-minute load. */
export function busyCores(loadavgLine: string | undefined, oneMinuteLoad: number): number {
  const runnable = loadavgLine === undefined ? undefined : /^\S+ \S+ \S+ (\d+)\/\d+ /.exec(loadavgLine)?.[1];
  // Half a process of slack: a machine running only this tool shows about 1.
  return runnable === undefined ? Math.max(0, Math.floor(oneMinuteLoad - 0.5)) : Math.max(0, Number(runnable) - 1);
}

export interface FrameThreads {
  readonly size: number;
  /** Thread `slot` (0 <= slot < size) decodes frame k; rejects if the thread fails. */
  decode(slot: number, k: number, bytes: Uint8Array, shape: FrameShape): Promise<DecodedFrame | FrameFailure>;
  close(): Promise<void>;
}

export function findFrameThreadEntry(): URL | undefined {
  const candidates = [new URL('./frameThread.js', import.meta.url), new URL('./png2y4mFrameThread.mjs', import.meta.url)];
  if (import.meta.url.endsWith('.ts')) candidates.push(new URL('../dist/png2y4m/frameThread.js', import.meta.url));
  return candidates.find((url) => url.protocol === 'file:' && existsSync(fileURLToPath(url)));
}

/** `count` threads, or undefined when there is no entry to start them from. */
export function startFrameThreads(count: number, entry: URL | undefined = findFrameThreadEntry()): FrameThreads | undefined {
  if (count < 1 || entry === undefined) return undefined;
  const threads = Array.from({ length: count }, () => startThread(entry));
  return {
    size: count,
    decode: (slot, k, bytes, shape) => threads[slot]!.decode(k, bytes, shape),
    close: async () => {
      await Promise.all(threads.map((thread) => thread.close()));
    },
  };
}

interface Waiting {
  resolve(decoded: DecodedFrame | FrameFailure): void;
  reject(error: Error): void;
}

interface FrameThread {
  decode(k: number, bytes: Uint8Array, shape: FrameShape): Promise<DecodedFrame | FrameFailure>;
  close(): Promise<void>;
}

function startThread(entry: URL): FrameThread {
  // Kept referenced: the main thread may be waiting for nothing but this thread's reply. The
  // tool closes its threads when it ends, whatever the outcome.
  const worker = new Worker(entry);
  const waiting = new Map<number, Waiting>();
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const pending of waiting.values()) pending.reject(failure);
    waiting.clear();
  };
  worker.on('message', ({ k, decoded }: FrameReply) => {
    waiting.get(k)?.resolve(decoded);
    waiting.delete(k);
  });
  worker.on('error', (error) => fail(new Error('png2y4m frame thread failed', { cause: error })));
  worker.on('exit', (code) => fail(new Error(`png2y4m frame thread exited (code ${code})`)));
  return {
    decode(k, bytes, shape) {
      const decoded = new Promise<DecodedFrame | FrameFailure>((resolve, reject) => {
        if (failure) return reject(failure);
        waiting.set(k, { resolve, reject });
        // A copy of its own, so the buffer moves to the thread instead of being cloned.
        const copy = bytes.slice();
        const request: FrameRequest = { k, bytes: copy, shape };
        worker.postMessage(request, [copy.buffer]);
      });
      // A frame the tool no longer waits for (it stopped at an earlier one) may fail unheard.
      decoded.catch(() => {});
      return decoded;
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
