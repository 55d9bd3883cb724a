/**
 * Run one command line through `/bin/sh -c`, as mu did, collecting stdout and stderr together
 * (in arrival order, like mu's `stderr=STDOUT`) into a bounded buffer: a chatty command must not
 * make the worker hold, or the wire carry, unbounded output. The tail is kept because that is
 * where errors usually are.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { describeError } from '../common/errors.js';
import { OutputTail } from './outputTail.js';
import type { ProcessGroups } from './processGroups.js';

/** Default bound on the output kept per command (64 KiB). */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;

export interface RunShellOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Keep at most this many bytes of output (the last ones). */
  maxOutputBytes: number;
  /** Aborting kills the command's whole process group. */
  signal?: AbortSignal;
  /** Where the command's process group is recorded, to be ended with the worker. */
  groups?: ProcessGroups;
}

export interface ShellResult {
  /** Exit status; a command killed by a signal reports minus the signal number (like Python). */
  code: number;
  /** stdout and stderr interleaved, possibly shortened to its tail (see {@link RunShellOptions}). */
  output: string;
  /** The same output as bytes, exactly as the command wrote them (absent: take `output` as UTF-8). */
  outputBytes?: Buffer;
}

/** Exit status reported when the shell itself cannot be started (as a shell does for "not found"). */
export const SPAWN_FAILED_CODE = 127;

/**
 * Run `command` in a shell; never rejects (a failure to start becomes code 127 and a message).
 *
 * @example const { code, output } = await runShell('png2y4m -i a.png', { cwd, env, maxOutputBytes: 65536 })
 */
export function runShell(command: string, options: RunShellOptions): Promise<ShellResult> {
  return new Promise((resolve) => {
    const tail = new OutputTail(options.maxOutputBytes);
    // Own process group, so an abort reaches the command's children too, not only the shell.
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) options.groups?.add(child.pid);
    // The group, not only the shell: a background child may hold the output pipe open after it exits.
    const kill = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    let settled = false;
    const settle = (result: ShellResult) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', kill);
      if (child.pid !== undefined) options.groups?.settled(child.pid);
      resolve(result);
    };
    child.on('error', (error) => {
      // Only a failure to start matters here; errors while killing are followed by 'close'.
      if (child.pid === undefined) settle({ code: SPAWN_FAILED_CODE, output: `could not start /bin/sh: ${describeError(error)}` });
    });
    child.on('close', (code, signal) => {
      const outputBytes = tail.bytes();
      settle({ code: code ?? -(signal ? (constants.signals[signal] ?? 0) : 0), output: outputBytes.toString('utf8'), outputBytes });
    });
    if (options.signal?.aborted) kill();
  });
}
