/**
 * Our png2y4m, served inside the long-lived worker instead of as a process per frame. A Node
 * process per frame spends more on start-up, cold code and recomputing the dither plan than on
 * the frame (BENCHMARKS.md); a thread of the worker that converts frame after frame does not.
 *
 * Only what is certainly a plain invocation of our own tool is served this way; everything else
 * goes to the shell as before. A command qualifies when, after template expansion,
 *  - it is a plain word list (letters, digits and `_ . / % : , + = @ -`, quoted or escaped
 *    text: no variables, globs, redirections, pipes, comments or `~`) whose first word is
 *    `png2y4m` (as the worker writes it: quoted paths included);
 *  - it neither reads stdin (`-` as the input) nor writes stdout (`-o -`);
 *  - the `png2y4m` a shell would find on the run's PATH is the very file registered as ours (the
 *    worker's shim, or the Lambda package's wrapper), unchanged since first seen: a user's own
 *    png2y4m earlier on PATH still runs as a process;
 *  - env `XC_PNG2Y4M_INPROCESS` is not `0` (the switch for debugging), and the thread is free.
 * Then the result is the process's: same exit code, same output text, same files written and
 * deleted, relative names resolved against the command's working folder.
 */
import { access, stat } from 'node:fs/promises';
import { constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { parseCommandLine } from '../png2y4m/options.js';
import { packageRoot } from '../common/packagePaths.js';
import type { RunShellOptions, ShellResult } from './runShell.js';
import { ToolThread, type ToolThreadStatus } from './toolThread.js';

/** Set to `0` in the run's environment to run png2y4m as a process every time. */
export const IN_PROCESS_ENV = 'XC_PNG2Y4M_INPROCESS';

/** The tool served in-process, as the first word of a command. */
export const PNG2Y4M = 'png2y4m';

/** What png2y4m reads of its environment (passed on to the thread). */
const TOOL_ENV_KEYS = ['POSIXLY_CORRECT'] as const;

export interface BuiltinToolsOptions {
  /**
   * The file that is our png2y4m: when a PATH lookup of `png2y4m` finds this very file, `run:`
   * converts in-process. Default: none (everything runs as a process).
   */
  png2y4mPath?: string;
  /** The thread's entry module. Default: {@link findPng2y4mThreadEntry}'s. */
  threadEntry?: URL;
  /** Default: silent. */
  logger?: Logger;
}

export interface BuiltinToolsStatus {
  /** Whether a png2y4m file was registered and a thread entry found. */
  enabled: boolean;
  /** Commands served in-process. */
  served: number;
  thread: ToolThreadStatus;
}

export interface BuiltinTools {
  /**
   * Run `command` in-process if it qualifies (see the module comment). Resolves the result the
   * shell would have given, or undefined: run it through the shell. Never rejects.
   */
  tryRun(command: string, options: RunShellOptions): Promise<ShellResult | undefined>;
  /**
   * The worker's own command (the payload's `command`, templates unexpanded) is about to be run:
   * if `tryRun` would serve it, start the thread now, while the coordinator's first round trips
   * and the inputs' downloads are under way, instead of at the first `run:` (about 60 ms of start
   * on its critical path). Nothing happens for any other command. Never rejects.
   */
  prepare(command: string | undefined, options: Pick<RunShellOptions, 'env' | 'cwd'>): Promise<void>;
  status(): BuiltinToolsStatus;
  /** Terminate the thread. Later calls of `tryRun` resolve undefined. */
  close(): Promise<void>;
}

/**
 * The in-process tools of one worker; the owner closes them when the worker ends.
 *
 * @example
 * const tools = createBuiltinTools({ png2y4mPath: '/tmp/xc-worker-1/.xc-bin/png2y4m' });
 * const result = (await tools.tryRun(command, options)) ?? (await runShell(command, options));
 */
export function createBuiltinTools(options: BuiltinToolsOptions = {}): BuiltinTools {
  const log = options.logger ?? pino({ level: 'silent' });
  const entry = options.threadEntry ?? findPng2y4mThreadEntry();
  const ours = options.png2y4mPath;
  const thread = entry ? new ToolThread(entry, { name: PNG2Y4M, logger: log }) : undefined;
  let identity: Promise<FileIdentity | undefined> | undefined;
  let served = 0;

  const isOurs = async (found: string): Promise<boolean> => {
    identity ??= fileIdentity(ours!);
    const [mine, theirs] = await Promise.all([identity, fileIdentity(found)]);
    return mine !== undefined && theirs !== undefined && sameFile(mine, theirs);
  };

  /** Whether `png2y4m` on this PATH is ours, so that the thread may serve it. */
  const servable = async (env: NodeJS.ProcessEnv, cwd: string): Promise<boolean> => {
    if (!thread || ours === undefined || env[IN_PROCESS_ENV] === '0') return false;
    try {
      const found = await findOnPath(PNG2Y4M, env.PATH, cwd);
      return found !== undefined && (await isOurs(found));
    } catch {
      return false;
    }
  };

  return {
    async tryRun(command, runOptions) {
      const argv = png2y4mInvocation(command, runOptions.env);
      if (!thread || !argv || !(await servable(runOptions.env, runOptions.cwd))) return undefined;
      const env: Record<string, string> = {};
      for (const key of TOOL_ENV_KEYS) {
        const value = runOptions.env[key];
        if (value !== undefined) env[key] = value;
      }
      const result = await thread.run({ argv, cwd: runOptions.cwd, env, maxOutputBytes: runOptions.maxOutputBytes }, runOptions.signal);
      if (result) {
        served++;
        log.debug({ tool: PNG2Y4M, code: result.code }, 'run: served in-process');
      }
      return result;
    },
    async prepare(command, { env, cwd }) {
      if (command?.trim().split(/\s+/)[0] !== PNG2Y4M) return;
      if (await servable(env, cwd)) thread?.prestart();
    },
    status: () => ({
      enabled: thread !== undefined && ours !== undefined,
      served,
      thread: thread?.status() ?? { state: 'broken', threadsStarted: 0, runs: 0, crashes: 0 },
    }),
    close: async () => {
      await thread?.close();
    },
  };
}

/** Characters that mean nothing to a POSIX shell anywhere in a bare word. */
const PLAIN_CHAR = /[A-Za-z0-9_./%:,+=@-]/;
/** Characters a double-quoted part may hold and stay literal (no `$`, backquote, backslash, `"`). */
const LITERAL_IN_DOUBLE = /^[^$`\\"]*$/;

/**
 * The words of `command` if it is a plain word list, else undefined (anything a shell would
 * treat specially). A word is made of plain characters, `'...'` parts, literal `"..."` parts
 * and backslash-escaped characters, the forms worker/shellQuote.ts writes, so quoted paths still
 * qualify. Deliberately narrow: what is not recognised simply runs through the shell.
 *
 * @example
 * plainWords("png2y4m -i -d -o '/tmp/w 1/out.y4m' /tmp/w/%08d.png") // ['png2y4m', '-i', '-d', '-o', '/tmp/w 1/out.y4m', ...]
 * plainWords('png2y4m -o out.y4m in.png > log')                     // undefined
 */
export function plainWords(command: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; ) {
    const char = command[i]!;
    if (char === ' ' || char === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (char === "'" || char === '"') {
      const end = command.indexOf(char, i + 1);
      if (end < 0) return undefined;
      const part = command.slice(i + 1, end);
      if (char === '"' && !LITERAL_IN_DOUBLE.test(part)) return undefined;
      word = (word ?? '') + part;
      i = end + 1;
    } else if (char === '\\') {
      const escaped = command[i + 1];
      if (escaped === undefined || escaped === '\n') return undefined;
      word = (word ?? '') + escaped;
      i += 2;
    } else if (PLAIN_CHAR.test(char)) {
      word = (word ?? '') + char;
      i++;
    } else {
      return undefined;
    }
  }
  if (word !== undefined) words.push(word);
  return words.length === 0 ? undefined : words;
}

/**
 * The argv of a plain `png2y4m` invocation that neither reads stdin nor writes stdout, else
 * undefined. Options are parsed exactly as the tool will parse them (`POSIXLY_CORRECT` from `env`).
 *
 * @example png2y4mInvocation('png2y4m -i -d -o out.y4m in.png', {}) // ['png2y4m', '-i', '-d', '-o', 'out.y4m', 'in.png']
 */
export function png2y4mInvocation(command: string, env: NodeJS.ProcessEnv): string[] | undefined {
  const words = plainWords(command);
  if (!words || words[0] !== PNG2Y4M) return undefined;
  const parsed = parseCommandLine(words, env.POSIXLY_CORRECT !== undefined);
  if (parsed.kind === 'parsed' && (parsed.options.output === '-' || parsed.operands[0] === '-')) return undefined;
  return words;
}

/**
 * Where `/bin/sh` would find the command `name`: the first regular, executable file `DIR/name`
 * for DIR in `path` (an empty entry is the working folder, relative ones are inside it).
 *
 * @example await findOnPath('png2y4m', '/tmp/w/.xc-bin:/usr/bin', '/tmp/w') // '/tmp/w/.xc-bin/png2y4m'
 */
export async function findOnPath(name: string, path: string | undefined, cwd: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  for (const dir of path.split(delimiter)) {
    // Joined as text, not normalised: the kernel resolves `..` and symlinks as it would for the shell.
    const candidate = `${dir.startsWith('/') ? dir : `${cwd}/${dir === '' ? '.' : dir}`}/${name}`;
    try {
      if (!(await stat(candidate)).isFile()) continue;
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here (or not executable): the shell goes on to the next folder too
    }
  }
  return undefined;
}

/**
 * The thread entry next to this module: `png2y4mThread.js` (compiled), `png2y4mThread.mjs` (the
 * Lambda bundle, next to index.mjs), else the package's compiled one (when running from the
 * TypeScript sources, e.g. under vitest). Undefined if none exists: png2y4m then runs as a process.
 *
 * @example findPng2y4mThreadEntry() // URL('file:///.../dist/worker/png2y4mThread.js')
 */
export function findPng2y4mThreadEntry(): URL | undefined {
  const candidates = [new URL('./png2y4mThread.js', import.meta.url), new URL('./png2y4mThread.mjs', import.meta.url)];
  if (import.meta.url.endsWith('.ts')) {
    try {
      candidates.push(pathToFileURL(resolve(packageRoot(), 'dist', 'worker', 'png2y4mThread.js')));
    } catch {
      // no package around the sources
    }
  }
  return candidates.find((url) => url.protocol === 'file:' && existsSync(fileURLToPath(url)));
}

interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

async function fileIdentity(path: string): Promise<FileIdentity | undefined> {
  if (!isAbsolute(path)) return undefined;
  try {
    const { dev, ino, size, mtimeMs } = await stat(path);
    return { dev, ino, size, mtimeMs };
  } catch {
    return undefined;
  }
}

/** The same file, not replaced or rewritten since first seen. */
function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
