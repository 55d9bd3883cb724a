/**
 * png2y4m run directly on folders of frames, for the demo's check. Conversions go to a few of the
 * worker's own png2y4m threads (worker/png2y4mThread.ts): warm code, one dither plan, chunks in
 * parallel on the cores, instead of a cold node process per chunk. Where no thread can start,
 * a conversion runs as a `png2y4m` process, as before.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { packageBinDir } from '../../common/packagePaths.js';
import { findPng2y4mThreadEntry } from '../../worker/builtinTools.js';
import { DEFAULT_MAX_OUTPUT_BYTES, type ShellResult } from '../../worker/runShell.js';
import { ToolThread } from '../../worker/toolThread.js';

export interface DirectConverter {
  /** Conversions that can run at once (one per thread). */
  readonly lanes: number;
  /** `png2y4m -o OUTPUT PATTERN`; resolves the exit code and the tool's output. */
  convert(pattern: string, output: string): Promise<ShellResult>;
  close(): Promise<void>;
}

/**
 * @example
 * const converter = createDirectConverter();
 * const { code } = await converter.convert('frames/%08d.png', 'out.y4m');
 * await converter.close();
 */
export function createDirectConverter(lanes: number = Math.min(4, availableParallelism())): DirectConverter {
  const entry = findPng2y4mThreadEntry();
  const idle = entry ? Array.from({ length: Math.max(1, lanes) }, () => new ToolThread(entry, { name: 'png2y4m' })) : [];
  const all = [...idle];
  const waiting: Array<(thread: ToolThread) => void> = [];
  const acquire = (): Promise<ToolThread> => {
    const thread = idle.pop();
    return thread ? Promise.resolve(thread) : new Promise((resolve) => waiting.push(resolve));
  };
  const release = (thread: ToolThread): void => {
    const next = waiting.shift();
    if (next) next(thread);
    else idle.push(thread);
  };
  return {
    lanes: Math.max(1, all.length),
    async convert(pattern, output) {
      const argv = ['png2y4m', '-o', output, pattern];
      if (all.length === 0) return asProcess(argv);
      const thread = await acquire();
      try {
        return (await thread.run({ argv, cwd: process.cwd(), env: {}, maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES })) ?? (await asProcess(argv));
      } finally {
        release(thread);
      }
    },
    async close() {
      await Promise.all(all.map((thread) => thread.close()));
    },
  };
}

function asProcess(argv: string[]): Promise<ShellResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(packageBinDir(), 'png2y4m.js'), ...argv.slice(1)], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` || (error ? error.message : '') });
    });
  });
}
