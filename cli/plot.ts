/**
 * `xc-orch plot TIMES.jsonl -o timeline.html|timeline.svg`: draw a run's `-O` file as one
 * self-contained picture. Malformed lines are skipped and counted on stderr; the written file's
 * path goes to stdout.
 */
import { ConfigError } from '../common/errors.js';
import { formatCommandHelp, optionTable, parseOptionArgs, resolveOptions } from '../common/optionTable.js';
import { PLOT_DEFAULTS, plotFormat, readTimelineFile, writeTimelinePlot } from '../runtime/observe/timelinePlot.js';
import { reportError } from './args.js';

export const PLOT_OPTIONS = optionTable({
  output: { flag: 'output', short: 'o', type: 'string', arg: 'FILE', defaultText: 'TIMES.html', help: 'the picture, .html or .svg by its extension' },
  title: { flag: 'title', short: 't', type: 'string', arg: 'TEXT', defaultText: "the input's file name", help: 'heading of the picture' },
  width: { flag: 'width', short: 'w', type: 'integer', arg: 'PX', min: 480, max: 100_000, default: PLOT_DEFAULTS.width, help: 'width of the picture in pixels' },
  maxRows: {
    flag: 'max-rows', type: 'integer', min: 1, max: 1_000_000, default: PLOT_DEFAULTS.maxRows,
    help: 'most workers drawn one row each; past that, a row is a bucket',
  },
});

export const PLOT_OPERANDS = [{ name: 'TIMES.jsonl', help: "the state times of a run, written by 'xc-orch run ... -O TIMES.jsonl'" }] as const;

export const PLOT_HELP = formatCommandHelp({
  usage: ['xc-orch plot TIMES.jsonl [-o FILE] [options]'],
  about: `Draws the state times of a run as a timeline: one row per worker (ordered by chunk), a
coloured bar per state, failures marked with their reason on hover, time in seconds. Past
--max-rows workers, rows are buckets of workers and a stacked area shows how many workers are in
each state over time. The output needs no network and runs no script. Malformed lines are
skipped and counted on stderr; the path of the picture goes to stdout.`,
  operands: PLOT_OPERANDS,
  tables: [PLOT_OPTIONS],
  notes: 'Exit status: 0 when the picture is written, 1 when writing failed, 2 for bad options or an\nunreadable input.',
});

/** `TIMES.jsonl` -> `TIMES.html` beside it. */
function defaultOutput(input: string): string {
  return `${input.replace(/\.(jsonl|json|txt|log)$/i, '')}.html`;
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parseOptionArgs(PLOT_OPTIONS, args);
    if (help) {
      process.stdout.write(PLOT_HELP);
      return 0;
    }
    const { output: given, title, width, maxRows } = resolveOptions(PLOT_OPTIONS, values);
    const [input, extra] = positionals;
    if (input === undefined) throw new ConfigError('missing the timeline file (the -O output of a run); see --help');
    if (extra !== undefined) throw new ConfigError(`unexpected argument '${extra}'`);
    const output = given ?? defaultOutput(input);
    plotFormat(output); // a bad extension should fail before reading a big file
    const read = await readTimelineFile(input);
    if (read.malformed > 0) {
      process.stderr.write(`xc-orch plot: skipped ${read.malformed} malformed line${read.malformed === 1 ? '' : 's'} in ${input} (first at line ${read.firstMalformedLine})\n`);
    }
    await writeTimelinePlot(output, read.entries, {
      title: title ?? input.slice(input.lastIndexOf('/') + 1),
      width,
      maxRows,
    });
    process.stdout.write(`${output}\n`);
    return 0;
  } catch (error) {
    return reportError('plot', error);
  }
}
