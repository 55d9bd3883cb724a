/**
 * The `run` options for seeing a job (`--dashboard [PORT]`, `--plot`, `--inspect*`) parse and
 * compile with clear errors, and `--plot` draws the job's timeline when a real job ends.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseJobArgs } from '../cli/run.js';
import { parseOptionArgs } from '../common/optionTable.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import { ConfigError } from '../common/errors.js';
import { LocalStore } from '../store/localStore.js';
import { createPlotObserver } from '../runtime/observe/plotObserver.js';
import { compileRunOptions, RUN_OPTIONS } from '../runtime/coordinator/runOptions.js';
import { seedClip } from '../cli/demo.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-viz-options-');
});

const compile = (args: string[]) => compileRunOptions(parseJobArgs(png2y4m, args).run, {});

describe('--dashboard [PORT]', () => {
  it('takes an optional port: bare means any free port', () => {
    const parse = (args: string[]) => parseOptionArgs(RUN_OPTIONS, args);
    expect(parse(['--dashboard', '-X', '4']).values).toEqual({ dashboardPort: 0, spares: 4 });
    expect(parse(['--dashboard']).values).toEqual({ dashboardPort: 0 });
    expect(parse(['--dashboard', '8080']).values).toEqual({ dashboardPort: 8080 });
    expect(parse(['--', '--dashboard'])).toMatchObject({ values: {}, positionals: ['--dashboard'] });
    expect(compile(['--dashboard']).dashboard).toEqual({ port: 0, host: '127.0.0.1' });
    expect(compile(['--dashboard', '8080', '-n', '2']).dashboard).toEqual({ port: 8080, host: '127.0.0.1' });
    expect(compile(['--dashboard=9000', '--dashboard-host', '0.0.0.0']).dashboard).toEqual({ port: 9000, host: '0.0.0.0' });
    expect(compile([]).dashboard).toBeUndefined();
  });

  it('refuses a bad port and a host without a dashboard', () => {
    expect(() => compile(['--dashboard=70000'])).toThrow(ConfigError);
    expect(() => compile(['--dashboard=x'])).toThrow(/--dashboard expects a whole number/);
    expect(() => compile(['--dashboard-host', '0.0.0.0'])).toThrow(/--dashboard-host goes with --dashboard/);
  });
});

describe('--inspect options', () => {
  it('default to any free port and a sample of 8; a record alone starts no server', () => {
    expect(compile(['--inspect']).inspect).toEqual({ port: 0, sample: 8 });
    expect(compile(['--inspect', '--inspect-port', '4000', '--inspect-sample', '2']).inspect).toEqual({ port: 4000, sample: 2 });
    expect(compile(['--inspect-record', 'x.jsonl']).inspect).toEqual({ sample: 8, recordFile: 'x.jsonl' });
    expect(compile([]).inspect).toBeUndefined();
  });

  it('refuses sample or port without --inspect, and a negative sample', () => {
    expect(() => compile(['--inspect-sample', '3'])).toThrow(/go with --inspect/);
    expect(() => compile(['--inspect', '--inspect-sample=-1'])).toThrow(ConfigError);
  });
});

describe('--plot', () => {
  it('refuses a file that is neither .html nor .svg before anything runs', () => {
    expect(() => compile(['--plot', 'timeline.png'])).toThrow(/name it \.html or \.svg/);
    expect(compile(['--plot', 'timeline.svg']).plotFile).toBe('timeline.svg');
  });

  it('writes nothing for a job without a single state entry', async () => {
    const file = join(dir, 'empty.svg');
    await createPlotObserver(file).close();
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('draws the timeline of a real job when it ends, with the same entries as -O', async () => {
    const store = new LocalStore(join(dir, 'store'));
    await seedClip(store, 'clip', 4, { width: 32, height: 24 });
    const plot = join(dir, 'timeline.svg');
    const times = join(dir, 'times.jsonl');
    const summary = await runJob(png2y4m, { parts: 2, frames: 2, video: 'clip', bucket: store.name, port: 0, quiet: true, plotFile: plot, timesFile: times });
    expect(summary.ok).toBe(true);
    const svg = await readFile(plot, 'utf8');
    expect(svg).toMatch(/^(<\?xml[^>]*>\s*)?<svg/);
    expect(svg).toContain('png2y4m · 2 chunks × 2 frames');
    const lines = (await readFile(times, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { state: string });
    // Every state a worker went through has a bar in the plot.
    const states = new Set(lines.map((l) => l.state).filter((s) => s !== 'done'));
    const drawn = new Set([...svg.matchAll(/data-state="([^"]+)"/g)].map((m) => m[1]));
    expect(drawn.size).toBeGreaterThan(0);
    for (const state of drawn) expect([...states].some((s) => s === state || s.endsWith(`.${state}`) || s.startsWith(`${state}.`))).toBe(true);
  });
});
