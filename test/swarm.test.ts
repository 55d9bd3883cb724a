/**
 * bench/swarm, small: the bench itself (bundled exactly as `npm run bench:swarm` bundles it) run as
 * a command with N = 20, so that the bench code cannot rot: real coordinator, real echo baseline,
 * the swarm in its own process over real mutual TLS on 127.0.0.1. Also the bench's own checks:
 * an injected worker failure and a too-low open-files limit must fail the run, loudly.
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PhaseResult } from '../bench/swarm.js';
import { recordScript } from '../bench/swarmScript.js';
import { SWARM_TMPDIR, swarmAnswer, swarmVals } from '../bench/swarmClients.js';

const root = join(__dirname, '..');
// Inside the package, so that the bundle's bare imports (xstate, pino) resolve from node_modules;
// by its real path, since the bench runs only when argv[1] is its own import.meta.url (a worktree's
// node_modules is a symlink).
const outDir = join(realpathSync(join(root, 'node_modules')), '.cache', `xc-orch-bench-test-${process.pid}`);
const bundle = join(outDir, 'swarm.mjs');

interface BenchOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[], shellPrefix?: string): Promise<BenchOutput> {
  const [file, argv] = shellPrefix
    ? ['/bin/sh', ['-c', `${shellPrefix} && exec "$0" "$@"`, process.execPath, bundle, ...args]]
    : [process.execPath, [bundle, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function parse(output: BenchOutput): { ok: boolean; results: PhaseResult[]; problems: string[] } {
  const line = output.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`bench printed no JSON (code ${output.code}): ${output.stdout}\n${output.stderr}`);
  }
}

beforeAll(async () => {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, 'bench', 'swarm.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
    outfile: bundle,
  });
});
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe('bench/swarm', () => {
  it('drives 20 swarm workers through the coordinator and the echo baseline with the same frame count', async () => {
    const output = await runBench(['--n', '20', '--frames', '2', '--json']);
    const report = parse(output);
    expect(report.problems).toEqual([]);
    expect(output.code).toBe(0);
    expect(report.results.map((r) => [r.mode, r.n, r.completed, r.ok])).toEqual([
      ['echo', 20, 20, true],
      ['xc', 20, 20, true],
    ]);
    // Per worker: the hello, every command of the script plus quit:, and an answer to each command.
    const commands = recordScript(2).flat().length;
    for (const result of report.results) {
      expect(result.messages).toBe(20 * (1 + commands + 1 + commands));
      expect(result.swarm?.connected).toBe(20);
      expect(result.swarm?.quits).toBe(20);
      expect(result.swarm?.closedWithoutQuit).toBe(0);
      expect(result.handshakesPerS).toBeGreaterThan(0);
      expect(result.cpuUsPerMessage).toBeGreaterThan(0);
      // Resident sizes in MB (a Node process holds tens to hundreds): a unit slip (KiB or bytes
      // taken for MB) leaves this range; the peak is the process's high-water mark, so never below
      // what it held when the phase started, and 20 workers add far less than 512 MB to it.
      expect(result.startRssMb).toBeGreaterThan(16);
      expect(result.startRssMb).toBeLessThan(2048);
      expect(result.peakRssMb).toBeGreaterThanOrEqual(result.startRssMb);
      expect(result.peakRssMb).toBeLessThan(result.startRssMb + 512);
    }
  });

  it('fails the run and names the chunk when one worker answers FAIL', async () => {
    const output = await runBench(['--n', '20', '--frames', '1', '--fail-invocations', '3', '--json']);
    const report = parse(output);
    expect(output.code).toBe(1);
    expect(report.ok).toBe(false);
    const xc = report.results.find((r) => r.mode === 'xc')!;
    const echo = report.results.find((r) => r.mode === 'echo')!;
    expect([xc.completed, xc.ok, echo.completed, echo.ok]).toEqual([19, false, 19, false]);
    expect(xc.failures.join('\n')).toMatch(/chunk 3 failed: .*FAIL\(injected by the bench\)/);
    expect(echo.failures.join('\n')).toMatch(/1 conversations failed, first: unexpected "FAIL\(injected/);
    expect(report.problems).toHaveLength(2);
  });

  it('says so up front when the hard open-files limit is too low for N', async () => {
    const output = await runBench(['--n', '400', '--only', 'xc', '--json'], 'ulimit -Sn 256 && ulimit -Hn 256');
    const report = parse(output);
    expect(output.code).toBe(1);
    expect(report.results).toEqual([]);
    expect(report.problems.join('\n')).toMatch(/N=400 needs 528 open files per process, but the hard limit is 256/);
  });

  it('rejects bad arguments with a usage hint', async () => {
    const output = await runBench(['--n', 'lots']);
    expect(output.code).toBe(2);
    expect(output.stderr).toMatch(/--n needs whole numbers/);
    const unknown = await runBench(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown argument --bogus/);
  });
});

describe('swarm answers', () => {
  it('gives the answers a png2y4m worker gives when everything succeeds', () => {
    const vals = swarmVals('file:/b');
    const plan = { command: 'png2y4m -i ##INFILE##' };
    expect(swarmAnswer('set:inkey:v-png16/00000001.png', vals, plan)).toEqual(['OK:SET(inkey)']);
    expect(swarmAnswer('set:targfile:##TMPDIR##/00000001.png', vals, plan)).toEqual(['OK:SET(targfile)']);
    expect(swarmAnswer('set:cmdinfile:##TMPDIR##/%08d.png', vals, plan)).toEqual(['OK:SET(cmdinfile)']);
    expect(swarmAnswer('set:outkey:v-y4m_02/00000000.y4m', vals, plan)).toEqual(['OK:SET(outkey)']);
    expect(swarmAnswer('set:fromfile:##TMPDIR##/00000000.y4m', vals, plan)).toEqual(['OK:SET(fromfile)']);
    expect(swarmAnswer('seti:nonblock:0', vals, plan)).toEqual(['OK:SETI(nonblock)']);
    expect(swarmAnswer('retrieve:', vals, plan)).toEqual(['OK:RETRIEVE(file:/b/v-png16/00000001.png)']);
    expect(swarmAnswer('run:', vals, plan)).toEqual([`OK:RETVAL(0):OUTPUT():COMMAND(png2y4m -i '${SWARM_TMPDIR}/%08d.png')`]);
    expect(swarmAnswer('upload:', vals, plan)).toEqual(['OK:UPLOAD(file:/b/v-y4m_02/00000000.y4m)']);
    expect(swarmAnswer('quit:', vals, plan)).toBeNull();
  });

  it('records the png2y4m machine script: configure, F frames of four steps, upload', () => {
    const flat = recordScript(2).flat();
    expect(flat).toHaveLength(5 + 4 * 2 + 1);
    expect(flat[0]).toBe('set:cmdinfile:##TMPDIR##/%08d.png');
    expect(flat.slice(5, 9)).toEqual(['set:inkey:sintel-1k-png16/00000001.png', 'set:targfile:##TMPDIR##/00000001.png', 'retrieve:', 'run:']);
    expect(flat[flat.length - 1]).toBe('upload:');
  });
});
