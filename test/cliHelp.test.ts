/**
 * Every command's `--help` comes from its option table: each option (with its default) and each
 * operand is listed, a bad value exits 2 with that option's help line, and no default is stated
 * twice in the sources. `run JOB --help` is checked in jobs-cli.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flagLabel, helpLine, type OperandSpec, type OptionSpec, type OptionTable } from '../common/optionTable.js';
import { DEMO_OPTIONS } from '../cli/demo.js';
import { GENKEYS_OPERANDS, GENKEYS_OPTIONS } from '../cli/genkeys.js';
import { LAMBDAIZE_OPERANDS } from '../cli/lambdaize.js';
import { MACHINES_OPERANDS, MACHINES_OPTIONS } from '../cli/machines.js';
import { PLOT_OPERANDS, PLOT_OPTIONS } from '../cli/plot.js';
import { RENDEZVOUS_OPTIONS } from '../cli/rendezvous.js';
import { STORE_OPERANDS, STORE_OPTIONS } from '../cli/store.js';
import { WORKER_OPTIONS } from '../cli/worker.js';
import { LAMBDAIZE_OPTIONS } from '../runtime/lambda/lambdaize.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const ROOT = join(__dirname, '..');
const tempDir = useTempDirs('file');
let dir: string;
beforeAll(async () => {
  dir = await tempDir('xc-cli-help-');
});

const xc = (args: string[], cwd: string) => runCli(args, { cwd, env: { PATH: process.env.PATH } });

const COMMANDS: Array<[string, OptionTable, readonly OperandSpec[]]> = [
  ['store', STORE_OPTIONS, STORE_OPERANDS],
  ['genkeys', GENKEYS_OPTIONS, GENKEYS_OPERANDS],
  ['lambdaize', LAMBDAIZE_OPTIONS, LAMBDAIZE_OPERANDS],
  ['plot', PLOT_OPTIONS, PLOT_OPERANDS],
  ['worker', WORKER_OPTIONS, []],
  ['machines', MACHINES_OPTIONS, MACHINES_OPERANDS],
  ['rendezvous', RENDEZVOUS_OPTIONS, []],
  ['demo', DEMO_OPTIONS, []],
];

/** What `--help` shows as an option's default, when it has one. */
function shownDefault(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.type === 'boolean' || spec.default === undefined) return undefined;
  return Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
}

describe('--help of every command, from its table', () => {
  it.each(COMMANDS)('%s --help lists every option of its table with its default, and every operand', async (name, table, operands) => {
    const { code, stdout, stderr } = await xc([name, '--help'], dir);
    expect(code, stderr).toBe(0);
    for (const spec of Object.values(table)) {
      // The flag and its help line, on the line the default ends.
      const start = stdout.indexOf(flagLabel(spec));
      expect(start, `${name}: ${flagLabel(spec)}`).toBeGreaterThanOrEqual(0);
      const lines = spec.help.split('\n');
      const last = stdout.indexOf(lines.at(-1)!, start);
      expect(last, `${name}: help of --${spec.flag}`).toBeGreaterThan(start);
      const shown = shownDefault(spec);
      if (shown !== undefined) expect(stdout.slice(last).split('\n')[0], `${name}: default of --${spec.flag}`).toContain(`[${shown}]`);
    }
    for (const operand of operands) expect(stdout, `${name}: ${operand.name}`).toContain(`  ${operand.name}  `);
    expect(stdout).toContain('-h, --help');
  });
});

describe('a bad value exits 2 with that option\'s help line', () => {
  const cases: Array<[string, string[], OptionSpec]> = [
    ['store', ['store', 'ls', '-j', '0'], STORE_OPTIONS.jobs],
    ['genkeys', ['genkeys', '--days', '36501', 'keys'], GENKEYS_OPTIONS.days],
    ['lambdaize', ['lambdaize', '--memory', '64', '--skip-upload', '--builtin', 'png2y4m'], LAMBDAIZE_OPTIONS.memoryMb],
    ['lambdaize', ['lambdaize', '--builtin', 'vpxenc', '--skip-upload'], LAMBDAIZE_OPTIONS.builtin],
    ['plot', ['plot', 'times.jsonl', '--width', '100'], PLOT_OPTIONS.width],
    ['machines', ['machines', 'show', 'png2y4m', '--format', 'dot'], MACHINES_OPTIONS.format],
    ['rendezvous', ['rendezvous', '--tombstone-timeout', 'soon'], RENDEZVOUS_OPTIONS.tombstoneTimeoutS],
    ['rendezvous', ['rendezvous', '--max-held-bytes', '0'], RENDEZVOUS_OPTIONS.maxHeldBytes],
    ['worker', ['worker', '--event'], WORKER_OPTIONS.event],
  ];
  it.each(cases)('%s %j', async (name, args, spec) => {
    const { code, stdout, stderr } = await xc(args, dir);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    const first = stderr.split('\n')[0]!;
    expect(first).toMatch(new RegExp(`^xc-orch ${name}: -`));
    expect(first.endsWith(helpLine(spec)), first).toBe(true);
  });
});

/** Every source file of the package (not tests, benches or the build), by path from the root. */
function sources(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) found.set(relative(ROOT, path), code(readFileSync(path, 'utf8')));
    }
  };
  for (const dir of ['cli', 'common', 'jobs', 'machines', 'png2y4m', 'protocol', 'runtime', 'store', 'worker']) walk(join(ROOT, dir));
  return found;
}

/** The code without its comments: examples in doc comments are not defaults. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

describe('no default is stated twice', () => {
  const relay = (path: string) => path.startsWith('runtime/relay/') || path === 'cli/rendezvous.ts';
  // Lambda's price table lists regions by name; it states no default.
  const notPrices = (path: string) => path !== 'runtime/coordinator/costEstimate.ts';
  // [the literal, the one file that states it, the files searched (all sources when absent)]
  const defaults: Array<[RegExp, string, ((path: string) => boolean)?]> = [
    [/\b13579\b/g, 'protocol/messages.ts'],
    [/\b13337\b/g, 'runtime/relay/relayOptions.ts'],
    [/\b1536\b/g, 'runtime/lambda/functionDefaults.ts'],
    [/\b180\b/g, 'runtime/lambda/functionDefaults.ts'],
    [/nodejs22\.x/g, 'runtime/lambda/lambdaize.ts'],
    [/\b365\b/g, 'cli/genkeys.ts'],
    [/'file:\.\/xc-store'/g, 'store/openStore.ts'],
    [/\b1200\b/g, 'runtime/observe/timelinePlot.ts'],
    [/\b600(_?000)?\b/g, 'runtime/relay/relayOptions.ts', relay],
    [/2 \*\* 30\b|1 << 30\b|1024 \* 1024 \* 1024|\b1073741824\b/g, 'runtime/relay/relayOptions.ts', relay],
    [/'0\.0\.0\.0'/g, 'runtime/relay/relayOptions.ts', relay],
    [/'us-east-1'/g, 'worker/parseEvent.ts', notPrices],
  ];
  const files = sources();
  it.each(defaults)('%s only once, in %s', (literal, home, within = () => true) => {
    const places = [...files]
      .filter(([path]) => within(path))
      .flatMap(([path, text]) => (text.match(literal) ?? []).map(() => path));
    expect(places).toEqual([home]);
  });
});
