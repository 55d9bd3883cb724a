/**
 * `xc-orch worker --event FILE|-`: run one worker from an invocation payload. The local launcher
 * starts workers this way; it is also how a worker is debugged by hand. Exit status: 0 after a
 * normal `quit:` (mode 0: after a command that returned 0), 1 for any other end, 2 for bad usage
 * or a bad payload.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, describeError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { formatCommandHelp, optionTable, parseOptionArgs, resolveOptions } from '../common/optionTable.js';
import { parseEvent } from '../worker/parseEvent.js';
import { runWorker } from '../worker/worker.js';
import { BIN_DIR_ENV } from '../worker/binDir.js';
import { IN_PROCESS_ENV } from '../worker/builtinTools.js';

export const WORKER_OPTIONS = optionTable({
  event: { flag: 'event', short: 'e', type: 'string', arg: 'FILE|-', help: "the invocation payload (JSON); '-' reads it from standard input" },
});

export const WORKER_HELP = formatCommandHelp({
  usage: ['xc-orch worker --event FILE|-'],
  about: `Runs one worker from an invocation payload: in mode 1 it connects to the coordinator at
addr:port over mutual TLS and serves its commands until quit:; in mode 0 it runs the payload's
command once and prints mu's answer.`,
  tables: [WORKER_OPTIONS],
  notes: `Environment:
  XC_LOG_LEVEL            pino log level on stderr (default: warn)
  ${BIN_DIR_ENV}         folder put first on PATH for run: (default: the package's bin/)
  ${IN_PROCESS_ENV}=0  every png2y4m frame runs as a process, not in the worker's thread

Exit status: 0 after quit: (mode 0: after a command that returned 0), 1 for any other end, 2 for
bad options or a bad payload.`,
});

/**
 * @example await run(['--event', 'payload.json']) // 0 after the coordinator said quit:
 */
export async function run(args: string[]): Promise<number> {
  let source: string | undefined;
  try {
    const { values, positionals, help } = parseOptionArgs(WORKER_OPTIONS, args);
    if (help) {
      process.stdout.write(WORKER_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}'`);
    source = resolveOptions(WORKER_OPTIONS, values).event;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (source === undefined || source === '') return usageError('missing --event FILE|-');

  const logger = createLogger({ name: 'worker' });

  let event;
  try {
    const text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
    event = parseEvent(parseJson(text, source));
  } catch (error) {
    process.stderr.write(`xc-orch worker: ${describeError(error)}\n`);
    return 2;
  }

  // The local launcher stops workers with SIGTERM: end cleanly (kill run: commands, remove the temp dir).
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let exit;
  try {
    exit = await runWorker(event, { logger, signal: stop.signal });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (exit.reason === 'ran') {
    process.stdout.write(`${exit.answer ?? ''}\n`);
    return exit.answer?.startsWith('OK:RETVAL(0)') ? 0 : 1;
  }
  if (exit.reason === 'quit') return 0;
  process.stderr.write(`xc-orch worker: stopped (${exit.reason}): ${exit.detail ?? 'no detail'}\n`);
  return 1;
}

function usageError(message: string): number {
  process.stderr.write(`xc-orch worker: ${message}\n\n${WORKER_HELP}`);
  return 2;
}

/**
 * JSON.parse's own message quotes the text around the error, which here may be a private key:
 * report only the position.
 */
function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const position = /position (\d+)/.exec(describeError(error))?.[1];
    const where = source === '-' ? 'standard input' : source;
    throw new ConfigError(`the event in ${where} is not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
