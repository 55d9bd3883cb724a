/**
 * The `none` launcher starts nothing: it writes the invocation payload to a file so that a user can
 * start workers elsewhere (`xc-orch worker --event FILE`), and reports every invocation as
 * accepted. The file holds the worker's private key, so it is created with mode 0600.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { WorkerEvent } from '../../worker/event.js';
import { ConfigError, describeError } from '../../common/errors.js';
import type { Launcher, LaunchReport, LaunchRequest } from './launcher.js';

export interface NoneLauncherOptions {
  /** Where to write the payload (`--payload-out`). Replaced atomically if it exists. */
  payloadFile: string;
  /**
   * The payload to write. Default: the first request's event without its `id`: workers started
   * by hand all read one file, say a plain `OK:HELLO` and are numbered in order of arrival.
   */
  payload?: WorkerEvent;
  /** Default: silent. */
  logger?: Logger;
}

/**
 * @example
 * const launcher = createNoneLauncher({ payloadFile: 'payload.json', payload: event });
 * await launcher.launch(requests, report); // writes payload.json (0600), reports all accepted
 * // elsewhere: xc-orch worker --event payload.json
 */
export function createNoneLauncher(options: NoneLauncherOptions): Launcher {
  if (!options.payloadFile) throw new ConfigError('the none launcher needs a payload file (--payload-out FILE)');
  const logger = options.logger ?? pino({ level: 'silent' });
  return {
    async launch(requests: LaunchRequest[], report: (report: LaunchReport) => void): Promise<void> {
      if (requests.length === 0) return;
      const payload = options.payload ?? withoutId(requests[0]!.event);
      try {
        await writePrivateFile(options.payloadFile, `${JSON.stringify(payload)}\n`);
      } catch (error) {
        const reason = `cannot write the payload file ${options.payloadFile}: ${describeError(error)}`;
        for (const { invocation } of requests) report({ type: 'failed', invocation, reason });
        return;
      }
      logger.info({ file: options.payloadFile, workers: requests.length }, 'payload written; start workers with xc-orch worker --event FILE');
      for (const { invocation } of requests) report({ type: 'accepted', invocation });
    },
    async stop(): Promise<void> {},
  };
}

function withoutId(event: WorkerEvent): WorkerEvent {
  const { id: _id, ...rest } = event;
  return rest;
}

/**
 * Write `text` to `path` readable by its owner only. A temporary file created 0600 is renamed over
 * the target, so the secret never sits in a file with wider permissions, even when replacing one.
 */
async function writePrivateFile(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.close();
    await rename(temp, path);
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}
