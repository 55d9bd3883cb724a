/**
 * `xc-orch plot TIMES.jsonl -o timeline.html|timeline.svg`: draw a run's `-O` file as one
 * self-contained picture. Malformed lines are skipped and counted on stderr; the written file's
 * path goes to stdout.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { PLOT_DEFAULTS, plotFormat, readTimelineFile, writeTimelinePlot } from '../runtime/observe/timelinePlot.js';
import { intOption, reportError } from './args.js';

export const PLOT_HELP = `Usage: xc-orch plot TIMES.jsonl [-o FILE] [options]

Draws the state times written by \`xc-orch run ... -O TIMES.jsonl\` as a timeline: one row per
worker (ordered by chunk), a coloured bar per state, failures marked with their reason on hover,
time in seconds. Past --max-rows workers, rows are buckets of workers and a stacked area shows how
many workers are in each state over time. The output needs no network and runs no script.

  -o, --output FILE     .html or .svg, chosen by the extension   [TIMES.html]
  -t, --title TEXT      heading of the picture                   [the input's file name]
  -w, --width PX        width in pixels                          [${PLOT_DEFAULTS.width}]
      --max-rows N      most rows drawn one per worker           [${PLOT_DEFAULTS.maxRows}]
  -h, --help            this help
`;

/** `TIMES.jsonl` -> `TIMES.html` beside it. */
function defaultOutput(input: string): string {
  return `${input.replace(/\.(jsonl|json|txt|log)$/i, '')}.html`;
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        title: { type: 'string', short: 't' },
        width: { type: 'string', short: 'w' },
        'max-rows': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(PLOT_HELP);
      return 0;
    }
    const [input, extra] = positionals;
    if (input === undefined) throw new ConfigError('missing the timeline file (the -O output of a run); see --help');
    if (extra !== undefined) throw new ConfigError(`unexpected argument '${extra}'`);
    const output = values.output ?? defaultOutput(input);
    plotFormat(output); // a bad extension should fail before reading a big file
    const read = await readTimelineFile(input);
    if (read.malformed > 0) {
      process.stderr.write(`xc-orch plot: skipped ${read.malformed} malformed line${read.malformed === 1 ? '' : 's'} in ${input} (first at line ${read.firstMalformedLine})\n`);
    }
    await writeTimelinePlot(output, read.entries, {
      title: values.title ?? input.slice(input.lastIndexOf('/') + 1),
      width: intOption('--width', values.width),
      maxRows: intOption('--max-rows', values['max-rows']),
    });
    process.stdout.write(`${output}\n`);
    return 0;
  } catch (error) {
    return reportError('plot', error);
  }
}
