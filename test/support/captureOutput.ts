/**
 * A CLI entry point run in this process with what it writes to stdout and stderr captured instead
 * of printed, so a test can check exactly what a user would see, and the test log stays clean.
 */
import { vi } from 'vitest';

export interface CapturedRun {
  /** What the entry point resolved with: the exit code the CLI would exit with. */
  code: number;
  stdout: string;
  stderr: string;
}

const text = (chunk: string | Uint8Array): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());

/**
 * Run `entry` with process.stdout and process.stderr captured; both are restored when it ends,
 * resolved or not.
 *
 * @example
 * const { code, stdout, stderr } = await captureOutput(() => run(['--help']));
 */
export async function captureOutput(entry: () => Promise<number>): Promise<CapturedRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += text(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += text(chunk);
    return true;
  });
  try {
    const code = await entry();
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
