/**
 * Threads that decode and convert frames of a sequence while the main thread converts others:
 * frames are independent (the dither restarts every frame), so a sequence spreads over the cores.
 * The main thread keeps every side effect in frame order (opening, deleting, messages, output), so
 * the result is byte for byte the single-threaded one; threads only compute.
 *
 * The entry is `frameThread.js` next to this module (dist/), `png2y4mFrameThread.mjs` next to the
 * bundle (the Lambda package), or dist's when running from the TypeScript sources (vitest). None
 * found, or a thread that fails: its frames are converted on the main thread instead.
 *
 * @example
 * const threads = startFrameThreads(1);
 * const outcome = threads?.convert(1, bytes, { width, height }, '420'); // Promise<FrameOutcome>
 * threads?.sendPlan(plan);
 * await threads?.close();
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FrameOutcome, FrameShape } from './frameConversion.js';
import type { ChromaMode } from './options.js';

export type FrameThreadRequest =
  | { kind: 'plan'; plan: Int16Array | null }
  | { kind: 'frame'; k: number; bytes: Uint8Array; shape: FrameShape; chroma: ChromaMode };

export interface FrameReply {
  k: number;
  outcome: FrameOutcome;
}

/**
 * Environment variable: how many frame threads to start (`0`: every frame on the main thread),
 * instead of one per further core.
 */
export const THREADS_ENV = 'XC_PNG2Y4M_THREADS';

/** Beyond a few threads, memory grows and the main thread's writing becomes the limit. */
const MAX_THREADS = 3;

/**
 * Frame threads worth starting for `frames` frames: one per core beyond the main thread's (which
 * converts its share too), or `requested` (the {@link THREADS_ENV} value) when it is a number;
 * never more than the frames after the first.
 *
 * @example frameThreadCount(6, undefined) // 1 on a 2-core machine
 */
export function frameThreadCount(frames: number, requested: string | undefined): number {
  const asked = requested !== undefined && /^\d+$/.test(requested) ? Number(requested) : availableParallelism() - 1;
  return Math.max(0, Math.min(asked, frames - 1, MAX_THREADS));
}

export interface FrameThreads {
  readonly size: number;
  /** Thread `slot` (0 <= slot < size) decodes and converts frame k; rejects if the thread fails. */
  convert(slot: number, k: number, bytes: Uint8Array, shape: FrameShape, chroma: ChromaMode): Promise<FrameOutcome>;
  /** The dither plan (null: no dither) the threads wait for before converting. */
  sendPlan(plan: Int16Array | null): void;
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
    convert: (slot, k, bytes, shape, chroma) => threads[slot]!.convert(k, bytes, shape, chroma),
    sendPlan(plan) {
      for (const thread of threads) thread.post({ kind: 'plan', plan });
    },
    close: async () => {
      await Promise.all(threads.map((thread) => thread.close()));
    },
  };
}

interface Waiting {
  resolve(outcome: FrameOutcome): void;
  reject(error: Error): void;
}

interface FrameThread {
  post(request: FrameThreadRequest): void;
  convert(k: number, bytes: Uint8Array, shape: FrameShape, chroma: ChromaMode): Promise<FrameOutcome>;
  close(): Promise<void>;
}

function startThread(entry: URL): FrameThread {
  const worker = new Worker(entry);
  // Never what keeps the process alive: the tool's result does not wait for a thread to end.
  worker.unref();
  const waiting = new Map<number, Waiting>();
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const pending of waiting.values()) pending.reject(failure);
    waiting.clear();
  };
  worker.on('message', ({ k, outcome }: FrameReply) => {
    waiting.get(k)?.resolve(outcome);
    waiting.delete(k);
  });
  worker.on('error', (error) => fail(new Error('png2y4m frame thread failed', { cause: error })));
  worker.on('exit', (code) => fail(new Error(`png2y4m frame thread exited (code ${code})`)));
  const post = (request: FrameThreadRequest, transfer: ArrayBuffer[] = []): void => {
    if (failure === undefined) worker.postMessage(request, transfer);
  };
  return {
    post,
    convert(k, bytes, shape, chroma) {
      const outcome = new Promise<FrameOutcome>((resolve, reject) => {
        if (failure) return reject(failure);
        waiting.set(k, { resolve, reject });
        // A copy of its own, so the buffer moves to the thread instead of being cloned.
        const copy = bytes.slice();
        post({ kind: 'frame', k, bytes: copy, shape, chroma }, [copy.buffer]);
      });
      // A frame the tool no longer waits for (it stopped at an earlier one) may fail unheard.
      outcome.catch(() => {});
      return outcome;
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
