/**
 * Runs png2y4m reference cases (the TSV format of ../shared/png2y4m/public-cases.tsv) against a
 * command, the way the shared check.sh does: a fresh work folder per case, inputs copied in, the
 * command run as a real child process, then output SHA-256, exit code, inputs left behind and the
 * first stderr line (normalised) compared.
 *
 * @example
 * for (const c of loadCases('test/fixtures/png2y4m/cases.tsv')) await runCase(['node', 'bin/png2y4m.js'], corpus, c);
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

export interface ReferenceCase {
  id: string;
  kind: 'file' | 'stdout' | 'stdin' | 'incr';
  inputs: string[];
  args: string;
  prefill: string;
  sha256: string;
  size: string;
  exitCode: number;
  left: string;
  stderr: string;
}

export interface CaseResult {
  sha256: string;
  size: string;
  exitCode: number;
  left: string;
  stderr: string;
}

export function loadCases(path: string): ReferenceCase[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [id, kind, inputs, args, prefill, sha256, size, exitCode, left, stderr] = line.split('\t');
      return {
        id: id!,
        kind: kind as ReferenceCase['kind'],
        inputs: inputs!.split(' '),
        args: args!,
        prefill: prefill!,
        sha256: sha256!,
        size: size!,
        exitCode: Number(exitCode),
        left: left!,
        stderr: stderr!,
      };
    });
}

const TIMEOUT_MS = 60_000;

/** Runs one case; cases share nothing, so several can run at once. */
export async function runCase(command: readonly string[], corpus: string, c: ReferenceCase): Promise<CaseResult> {
  const work = mkdtempSync(join(tmpdir(), 'png2y4m-case-'));
  try {
    return await runIn(work, command, corpus, c);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function runIn(T: string, command: readonly string[], corpus: string, c: ReferenceCase): Promise<CaseResult> {
  const input = join(T, 'in');
  const stage = join(T, 'stage');
  mkdirSync(input, { recursive: true });
  mkdirSync(stage, { recursive: true });
  const OUT = join(T, 'out.y4m');
  for (const file of c.inputs) {
    const target = c.kind === 'incr' ? join(stage, basename(file)) : join(input, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(corpus, file), target);
  }
  if (c.prefill === 'junk') writeFileSync(OUT, 'JUNK-PREFILL\n');
  const argv = c.args
    .replaceAll('@OUT@', OUT)
    .replaceAll('@FRAMEDIR@', join(input, 'frame'))
    .replaceAll('@IN@', input)
    .replaceAll('@T@', T)
    .split(/\s+/)
    .filter((arg) => arg !== '');
  const invoke = async (stdin: string | null, stdout: string | null): Promise<{ status: number; stderr: string }> => {
    const inFd = stdin === null ? 'ignore' : openSync(stdin, 'r');
    const outFd = stdout === null ? 'ignore' : openSync(stdout, 'w');
    try {
      const child = spawn(command[0]!, [...command.slice(1), ...argv], { stdio: [inFd, outFd, 'pipe'], timeout: TIMEOUT_MS });
      const chunks: Buffer[] = [];
      child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
      const status = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) => resolve(code ?? -1));
      });
      return { status, stderr: Buffer.concat(chunks).toString('latin1') };
    } finally {
      if (typeof inFd === 'number') closeSync(inFd);
      if (typeof outFd === 'number') closeSync(outFd);
    }
  };
  let exitCode = 0;
  let stderr = '';
  if (c.kind === 'file') ({ status: exitCode, stderr } = await invoke(null, null));
  else if (c.kind === 'stdout') ({ status: exitCode, stderr } = await invoke(null, OUT));
  else if (c.kind === 'stdin') ({ status: exitCode, stderr } = await invoke(join(input, c.inputs[0]!), null));
  else {
    for (const [n, file] of c.inputs.entries()) {
      if (n > 0 && exitCode !== 0) break;
      rmSync(join(input, 'frame'), { recursive: true, force: true });
      mkdirSync(join(input, 'frame'));
      renameSync(join(stage, basename(file)), join(input, 'frame', basename(file)));
      const run = await invoke(null, null);
      exitCode = run.status;
      if (n === 0) stderr = run.stderr;
    }
  }
  const present = existsSync(OUT);
  return {
    sha256: present ? createHash('sha256').update(readFileSync(OUT)).digest('hex') : 'MISSING',
    size: present ? String(statSync(OUT).size) : '-',
    exitCode,
    left: listFiles(input).join(',') || '-',
    stderr: normaliseStderr(stderr, T),
  };
}

function listFiles(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(root, rel));
    else out.push(rel);
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function normaliseStderr(text: string, T: string): string {
  const line = (text.split('\n')[0] ?? '')
    .replaceAll(T, '@T@')
    .replaceAll('\t', ' ')
    .replace(/^Usage: [^ ]+ /, 'Usage: @PROG@ ')
    .replace(/^[^ :]+: (invalid option|unrecognized option|option )/, '@PROG@: $1');
  return line === '' ? '-' : line;
}
