/**
 * ExCamera's state files in the worker's temp dir, as mu's worker kept them: `N.state` arrives from
 * the predecessor over the peer link, `final.state` is this worker's own after a run, `prev.ivf` a
 * copy of the last `output.ivf`. Here: the names, mu's `##INSTATEWAIT##`/`##INSTATESWITCH##`
 * texts, atomic writes, and a bounded, event-driven wait for a file to appear.
 */
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { copyFile, rename, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { deflate, inflate } from 'node:zlib';
import { TMPDIR_MARK } from './template.js';

const inflateAsync = promisify(inflate);
const deflateAsync = promisify(deflate);

/** Placeholder replaced by a wait for the predecessor's state, piped into the command (mu). */
export const INSTATEWAIT_MARK = '##INSTATEWAIT##';
/** Placeholder replaced by xc-enc's switches naming the input states and `prev.ivf` (mu). */
export const INSTATESWITCH_MARK = '##INSTATESWITCH##';

/** A command waiting for a state gives up after this long (as long as a relay holds one, 600 s). */
export const DEFAULT_STATE_WAIT_MS = 600_000;
/** Largest state file accepted from a peer once decompressed (a zlib bomb must not fill the disk). */
export const DEFAULT_MAX_STATE_BYTES = 256 * 1024 * 1024;

/** Tools whose successful background run ends a pass of the chain (mu's rule, by name). */
const CHAIN_TOOLS = ['xc-enc', 'xc-dump', 'xc-terminate-chunk'] as const;

/** What mu's `make_cmdstring` puts for the state placeholders, and the file the wait is for. */
export interface StatePlaceholders {
  /** Mark -> text, for {@link expandCommand}; the texts may hold `##TMPDIR##`. */
  marks: Readonly<Record<string, string>>;
  /** The state file (in the temp dir) `##INSTATEWAIT##` waits for; undefined when there is none. */
  waitFor: string | undefined;
}

/**
 * mu's rule: when `run_iter` > 0 and `expect_statefile`, `##INSTATEWAIT##` waits for
 * `{run_iter-1}.state` and `##INSTATESWITCH##` is `-r -I {run_iter-1}.state -p prev.ivf`, plus
 * `-S 0.state` (`minimal_recode`) or `-S {run_iter-2}.state` when `run_iter` > 1; otherwise both
 * are empty. The wait itself is done by the worker before the command starts ({@link waitForFile}),
 * so the text left in the command only feeds xc-enc's standard input the line mu's shell loop did.
 *
 * @example statePlaceholders(2, true, false).marks['##INSTATESWITCH##']
 * // '-r -I ##TMPDIR##/1.state -p ##TMPDIR##/prev.ivf -S ##TMPDIR##/0.state'
 */
export function statePlaceholders(runIter: number, expectStatefile: boolean, minimalRecode: boolean): StatePlaceholders {
  if (runIter <= 0 || !expectStatefile) return { marks: { [INSTATEWAIT_MARK]: '', [INSTATESWITCH_MARK]: '' }, waitFor: undefined };
  const input = stateName(runIter - 1);
  let switches = `-r -I ${TMPDIR_MARK}/${input} -p ${TMPDIR_MARK}/prev.ivf`;
  if (runIter > 1) switches += ` -S ${TMPDIR_MARK}/${stateName(minimalRecode ? 0 : runIter - 2)}`;
  return { marks: { [INSTATEWAIT_MARK]: 'echo hi | ', [INSTATESWITCH_MARK]: switches }, waitFor: input };
}

export function stateName(n: number): string {
  return `${n}.state`;
}

/** True if `command` runs one of the chain's tools (mu looked for their names in the text). */
export function runsChainTool(command: string): boolean {
  return CHAIN_TOOLS.some((tool) => command.includes(tool));
}

/**
 * Decompress a state received from a peer and write it as `dir/N.state` atomically (a temporary
 * name in the same folder, then a rename), so a command waiting for it never sees half a file.
 * Rejects on corrupt data or a state above `maxBytes`, leaving nothing behind.
 *
 * @example await writeStateFile(tmpDir, 0, compressed) // '/tmp/xc-worker-1/0.state'
 */
export async function writeStateFile(dir: string, n: number, compressed: Uint8Array, maxBytes = DEFAULT_MAX_STATE_BYTES): Promise<string> {
  let state: Buffer;
  try {
    state = await inflateAsync(compressed, { maxOutputLength: maxBytes });
  } catch (error) {
    const why = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? `larger than ${maxBytes} bytes decompressed` : 'not zlib data';
    throw new Error(`state ${n} is ${why}`, { cause: error });
  }
  const path = join(dir, stateName(n));
  const temporary = join(dir, `.${stateName(n)}.${randomBytes(6).toString('hex')}.part`);
  try {
    await writeFile(temporary, state);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new Error(`could not write ${stateName(n)}`, { cause: error });
  }
  return path;
}

/** `dir/final.state`, compressed for a `STATE(n):` frame. */
export async function compressedFinalState(dir: string): Promise<Buffer> {
  return deflateAsync(await readFile(join(dir, 'final.state')));
}

/**
 * What mu's worker did after a pass: keep `output.ivf` as `prev.ivf` and remove the state two
 * passes back (no longer needed; absent is fine).
 */
export async function keepPassOutputs(dir: string, runIter: number): Promise<void> {
  if (runIter > 1) await rm(join(dir, stateName(runIter - 2)), { force: true });
  await copyFile(join(dir, 'output.ivf'), join(dir, 'prev.ivf'));
}

/**
 * Resolve once `path` exists: at once if it does, else on the directory's change notification
 * (inotify on Linux; a slow poll backs it up where watching is unavailable). Rejects after
 * `timeoutMs` with a one-line reason, or when `signal` aborts.
 *
 * @example await waitForFile(join(tmpDir, '0.state'), { timeoutMs: 600_000, signal })
 */
export function waitForFile(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const { signal, timeoutMs } = options;
  return new Promise<void>((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(poll);
      watcher?.close();
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      void stat(path).then(
        () => finish(),
        () => undefined,
      );
    };
    const onAbort = () => finish(new Error(`stopped while waiting for ${basename(path)}`, { cause: signal?.reason }));
    const deadline = setTimeout(() => finish(new Error(`${basename(path)} did not arrive within ${timeoutMs / 1000} s`)), timeoutMs);
    const poll = setInterval(check, 1_000);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    try {
      watcher = watch(dirname(path), (_event, name) => {
        if (name === null || name === basename(path)) check();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No watching here (inotify limits): the poll alone finds the file.
    }
    // After the watch is set up, so a file that lands in between is not missed.
    check();
  });
}
