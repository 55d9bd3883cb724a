/**
 * The worker as a Lambda function: `index.handler` of the zip that `xc-orch lambdaize` builds.
 * It reads the package's manifest (the command template, whether shared libraries were packed),
 * points the worker at the package's `bin/`, and runs one worker from the invocation payload.
 *
 * It never throws: Lambda retries an asynchronous invocation whose handler failed (twice, by
 * default), and a retried worker is only a duplicate that the coordinator must turn away. Every
 * outcome, a bad payload included, is returned as a {@link LambdaResult} and logged in one line.
 */
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import type { WorkerEvent } from './event.js';
import { parseEvent } from './parseEvent.js';
import { runWorker, type WorkerExit } from './worker.js';

/** The manifest's file name at the root of the zip. */
export const MANIFEST_FILE = 'xc-orch-lambda.json';

/** What `lambdaize` records about the package, read by the handler at each invocation. */
export interface LambdaManifest {
  version: 1;
  /** mu's command template (`PRE_ARGS EXECUTABLE POST_ARGS`), run by a bare `run:` when the event has none. */
  command: string;
  /** Folder (relative to the task root) of copied shared libraries, put on LD_LIBRARY_PATH. */
  libDir?: string;
  /** `png2y4m` when the package holds our own TypeScript tool instead of a native executable. */
  builtin?: string;
}

/** What the handler returns to Lambda (visible in its logs and to synchronous callers). */
export interface LambdaResult {
  ok: boolean;
  /** The worker's exit reason, or `bad-event` / `bad-package` when it could not start. */
  reason: string;
  detail?: string;
  /** Mode 0: mu's answer for the one run. */
  answer?: string;
  commands?: number;
}

/** Environment variable the `bin/` wrappers of built-in tools use to find this Node binary. */
export const NODE_ENV_VAR = 'XC_ORCH_NODE';

/**
 * Lambda's entry point.
 *
 * @example
 * // As Lambda calls it, with the payload the launcher sent:
 * const result = await handler({ mode: 1, addr: '203.0.113.5', port: 13579, id: 7, ... });
 * // { ok: true, reason: 'quit', commands: 42 }
 */
export async function handler(event: unknown): Promise<LambdaResult> {
  const log = createLogger({ name: 'worker' });
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? dirname(fileURLToPath(import.meta.url));
  let manifest: LambdaManifest;
  try {
    manifest = readManifest(taskRoot);
  } catch (error) {
    const result: LambdaResult = { ok: false, reason: 'bad-package', detail: describeError(error) };
    log.error(result, 'worker not started');
    return result;
  }
  let parsed: WorkerEvent;
  try {
    const withCommand = isObject(event) && event.command === undefined ? { ...event, command: manifest.command } : event;
    parsed = parseEvent(withCommand);
  } catch (error) {
    const result: LambdaResult = { ok: false, reason: 'bad-event', detail: describeError(error) };
    log.error(result, 'worker not started');
    return result;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, [NODE_ENV_VAR]: process.execPath };
  if (manifest.libDir) {
    const libs = join(taskRoot, manifest.libDir);
    env.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `${libs}${delimiter}${env.LD_LIBRARY_PATH}` : libs;
  }
  let exit: WorkerExit;
  try {
    // A --builtin png2y4m package's bin/png2y4m is our own wrapper: served in-process (its
    // thread is png2y4mThread.mjs next to this bundle); a packed executable of that name is not.
    const png2y4mPath = manifest.builtin === 'png2y4m' ? join(taskRoot, 'bin', 'png2y4m') : undefined;
    exit = await runWorker(parsed, { binDir: join(taskRoot, 'bin'), env, logger: log, ...(png2y4mPath ? { png2y4mPath } : {}) });
  } catch (error) {
    const result: LambdaResult = { ok: false, reason: 'tmpdir', detail: describeError(error) };
    log.error(result, 'worker not started');
    return result;
  }
  const result: LambdaResult = {
    ok: exit.reason === 'quit' || exit.reason === 'ran',
    reason: exit.reason,
    ...(exit.detail ? { detail: exit.detail } : {}),
    ...(exit.answer !== undefined ? { answer: exit.answer } : {}),
    commands: exit.commands,
  };
  if (!result.ok) log.warn({ id: parsed.id, reason: result.reason, detail: result.detail }, 'worker ended abnormally');
  return result;
}

/** Read and check the package manifest at the task root. */
export function readManifest(taskRoot: string): LambdaManifest {
  const text = readFileSync(join(taskRoot, MANIFEST_FILE), 'utf8');
  const value: unknown = JSON.parse(text);
  if (!isObject(value) || value.version !== 1 || typeof value.command !== 'string') {
    throw new Error(`${MANIFEST_FILE} is not an xc-orch manifest (version 1 with a command)`);
  }
  return value as unknown as LambdaManifest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
