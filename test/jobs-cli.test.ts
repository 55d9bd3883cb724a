/**
 * `xc-orch run JOB`, `xc-orch jobs` and job files from the command line: help generated from the
 * option tables, and every bad input ending with exit 2 and one line saying what is wrong.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flagLabel } from '../common/optionTable.js';
import { DefinitionError } from '../common/errors.js';
import { defineJob } from '../jobs/defineJob.js';
import { jobs } from '../jobs/registry.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { RUN_OPTIONS } from '../runtime/coordinator/runOptions.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs('file');
let dir: string;
beforeAll(async () => {
  dir = await tempDir('xc-jobs-cli-');
});

const xc = (args: string[]) => runCli(args, { cwd: dir });

describe('help from the tables', () => {
  it.each(Object.values(jobs).map((job) => [job.name, job] as const))('run %s --help lists every option of the job and of every run', async (_name, job) => {
    const { code, stdout } = await xc(['run', job.name, '--help']);
    expect(code).toBe(0);
    for (const spec of [...Object.values(job.options), ...Object.values(RUN_OPTIONS)]) expect(stdout).toContain(flagLabel(spec).trim());
    expect(stdout).toContain(`[${RUN_OPTIONS.answerTimeoutS.default}]`);
  });

  it('xc-orch jobs lists the built-in jobs, one line each', async () => {
    const { code, stdout } = await xc(['jobs']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['png2y4m', 'vpxenc', 'map', 'xcenc']);
  });
});

describe('bad input: exit 2, one line', () => {
  // The last: the line after the message, pointing to the next step (the job's options when there is a job, else the jobs).
  const JOB_HELP = 'Run `xc-orch run png2y4m --help` for the options.';
  const JOBS_HELP = 'Run `xc-orch run --help` for the jobs, and how a job file looks.';
  const cases: Array<[string, string[], RegExp, string | undefined]> = [
    // Node's parser said "argument is ambiguous" for a negative number.
    ['a negative number', ['run', 'png2y4m', '-n', '-1'], /^xc-orch run: --parts must be a whole number from 1 to 100000, got -1: -n, --parts N: chunks, one worker each/, JOB_HELP],
    ['a word for a number', ['run', 'png2y4m', '-f', 'six'], /--frames expects a whole number, got "six"/, JOB_HELP],
    ['no regions', ['run', 'png2y4m', '-r', ''], /--regions must be a comma-separated list of non-empty names/, JOB_HELP],
    ['a duration a timer cannot wait', ['run', 'png2y4m', '--answer-timeout', '2147484'], /--answer-timeout must be a number of seconds above 0 and at most 2147483/, JOB_HELP],
    // Found when the job is planned: the message says what to change.
    ['frame numbers past %08d', ['run', 'png2y4m', '-o', '16666666', '-f', '6'], /the last frame number would be 100000002, but key names hold 8 digits/, undefined],
    ['an unknown job', ['run', 'nope'], /unknown job 'nope' \(known: png2y4m, vpxenc, map, xcenc; or the path of a job file/, JOBS_HELP],
    ['a missing job file', ['run', './missing.mjs'], /job file \.\/missing\.mjs: no such file/, JOBS_HELP],
    ['an unknown option', ['run', 'png2y4m', '--framez', '3'], /unknown option '--framez'/, JOB_HELP],
  ];
  it.each(cases)('%s', async (_what, args, message, next) => {
    const { code, stderr } = await xc(args);
    expect(code, stderr).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1)).toEqual(next === undefined ? [] : [next]);
    expect(stderr).not.toMatch(/ambiguous|\n\s+at /);
  });

  it('a file where the store folder should be', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const { code, stderr } = await xc(['run', 'png2y4m', '-b', 'file:a-file']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('xc-orch run: -b file:a-file: a-file is a file; a file: store is a folder (-b file:DIR)');
  });

  it('a job file that does not load, or exports no job, is named with the reason', async () => {
    await writeFile(join(dir, 'broken.ts'), 'export default defineJob({ name: ; });\n');
    await writeFile(join(dir, 'nojob.mjs'), 'export const answer = 42;\n');
    await writeFile(join(dir, 'throws.mjs'), "import { defineJob } from 'xc-orch';\nexport default defineJob({ name: 'Bad Name' });\n");
    const broken = await xc(['run', './broken.ts']);
    expect(broken.code).toBe(2);
    expect(broken.stderr.split('\n')[0]).toMatch(/^xc-orch run: job file \.\/broken\.ts: does not load: .*\(line 1:/);
    const nojob = await xc(['run', './nojob.mjs']);
    expect(nojob.stderr.split('\n')[0]).toBe('xc-orch run: job file ./nojob.mjs: exports no job (export default defineJob({...}) from xc-orch)');
    const throws = await xc(['run', './throws.mjs']);
    expect(throws.code).toBe(2);
    expect(throws.stderr.split('\n')[0]).toMatch(/job file \.\/throws\.mjs: does not load: job Bad Name: the name must be/);
  });

  it('machines show draws the machine of a job file', async () => {
    const { code, stdout } = await xc(['machines', 'show', join(__dirname, '..', 'examples', 'stitch.ts')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^stateDiagram-v2/);
  });
});

describe('defineJob', () => {
  const machine = png2y4m.machine;
  const base = { name: 'x', description: 'd', plan: () => ({ chunks: [] }), machine };
  it('refuses definition mistakes with a DefinitionError naming the job', () => {
    expect(() => defineJob({ ...base, options: { bucket: { flag: 'bucket2', type: 'boolean', help: 'h' } } })).toThrow(new DefinitionError('job x: option bucket has the name of a run option'));
    expect(() => defineJob({ ...base, options: { spare: { flag: 'spare', short: 'X', type: 'boolean', help: 'h' } } })).toThrow(/-X is already the run option spares/);
    expect(() => defineJob({ ...base, options: { n: { flag: 'n', type: 'integer', min: 1, max: 9, default: 0, help: 'h' } } })).toThrow(/a default is not a valid value/);
    expect(() => defineJob({ ...base, name: 'Bad', options: {} })).toThrow(DefinitionError);
    expect(() => defineJob({ ...base, description: 'two\nlines', options: {} })).toThrow(/one non-empty line/);
  });
});
