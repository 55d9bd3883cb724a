/**
 * The reference tool's recorded results (test/fixtures/png2y4m/cases.tsv): every case must give
 * the same output bytes, exit code, surviving inputs and first stderr line, through both entry
 * points (the `png2y4m` bin and `xc-orch png2y4m`). Runs the built tool in real child processes,
 * a few at once (each case in its own folder).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCases, runCase } from './support/png2y4mCases.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test/fixtures/png2y4m');
const CORPUS = join(FIXTURES, 'corpus');
const cases = loadCases(join(FIXTURES, 'cases.tsv'));
const PNG2Y4M = [process.execPath, join(ROOT, 'bin/png2y4m.js')];
const XC_ORCH = [process.execPath, join(ROOT, 'bin/xc-orch.js'), 'png2y4m'];

describe('png2y4m reference cases', () => {
  it('has the built tool and the fixture corpus', () => {
    expect(existsSync(join(ROOT, 'dist/png2y4m/main.js'))).toBe(true);
    expect(cases.length).toBeGreaterThan(100);
  });

  it.concurrent.for(cases.map((c) => [c.id, c] as const))('%s', async ([, c], { expect }) => {
    const got = await runCase(PNG2Y4M, CORPUS, c);
    expect(got).toEqual({ sha256: c.sha256, size: c.size, exitCode: c.exitCode, left: c.left, stderr: c.stderr });
  });

  // The subcommand is the same tool behind a lazy import; a sample of kinds is enough.
  const sample = ['rgb8_adam7_37x23.d422', 'io.stdin.444', 'seq.mixed_depths.incr', 'err.badcrc', 'help.after_args', 'opt.abbrev'];
  it.concurrent.for(cases.filter((c) => sample.includes(c.id)).map((c) => [c.id, c] as const))('xc-orch png2y4m: %s', async ([, c], { expect }) => {
    const got = await runCase(XC_ORCH, CORPUS, c);
    expect(got).toEqual({ sha256: c.sha256, size: c.size, exitCode: c.exitCode, left: c.left, stderr: c.stderr });
  });
});
