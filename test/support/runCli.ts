/**
 * `xc-orch` as a user runs it: `bin/xc-orch.js` (which runs `dist/`) in a child process, with its
 * exit code and everything it printed. Every run is bounded, so a hang fails the test with what
 * the CLI had printed by then instead of at vitest's timeout.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { packageRoot } from '../../common/packagePaths.js';

export const CLI = join(packageRoot(), 'bin', 'xc-orch.js');

export interface CliOptions {
  cwd?: string;
  /** The child's whole environment (not added to ours). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which then ends. Default: stdin at end of file. */
  stdin?: string;
  /** The child is killed (SIGKILL, `code` null) after this long. Default 30 s. */
  timeoutMs?: number;
}

export interface CliOutcome {
  /** The exit status; null when the child was killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Start the CLI and get the child (to signal it or read its output as it comes) beside the
 * promise of its outcome.
 *
 * @example
 * const { child, done } = startCli(['worker', '--event', '-'], { stdin: JSON.stringify(event) });
 * child.kill('SIGTERM'); expect((await done).code).toBe(143);
 */
export function startCli(args: readonly string[], options: CliOptions = {}): { child: ChildProcessByStdio<Writable, Readable, Readable>; done: Promise<CliOutcome> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(options.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliOutcome>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`xc-orch ${args.join(' ')} did not start`, { cause: error }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

/**
 * Run the CLI to its end.
 *
 * @example
 * const { code, stdout, stderr } = await runCli(['store', 'ls', 'file:/tmp/s'], { cwd: dir });
 */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliOutcome> {
  return startCli(args, options).done;
}
