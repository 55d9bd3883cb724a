/**
 * `xc-orch lambdaize`: package the worker (with an executable, or our built-in png2y4m) as a
 * Lambda function, create it, and print its description as JSON on stdout.
 */
import { ConfigError } from '../common/errors.js';
import { formatCommandHelp, parseOptionArgs, type OptionSpec } from '../common/optionTable.js';
import { LAMBDAIZE_OPTIONS, lambdaize, type LambdaizeOptions } from '../runtime/lambda/lambdaize.js';
import { reportError } from './args.js';

export const LAMBDAIZE_OPERANDS = [
  { name: 'EXECUTABLE', help: 'the program a bare run: executes, packed into bin/ (first on PATH)' },
  { name: 'PRE_ARGS', help: "one argument: what comes before it in the command ('' for none)" },
  { name: 'POST_ARGS', help: "one argument: what comes after it (such as '-o ##OUTFILE## ##INFILE##')" },
  { name: 'EXTRA_FILE...', help: 'more files for bin/, modes kept' },
] as const;

export const LAMBDAIZE_HELP = formatCommandHelp({
  usage: [
    'xc-orch lambdaize [options] EXECUTABLE [PRE_ARGS [POST_ARGS [EXTRA_FILE...]]]',
    '(options go before EXECUTABLE; PRE_ARGS and POST_ARGS are one argument each)',
    'xc-orch lambdaize [options] --builtin png2y4m',
  ],
  about: `Builds a zip with the worker runtime (one esbuild bundle, handler index.handler), the executable
and extra files in bin/ (first on the worker's PATH), and the command template
'PRE_ARGS EXECUTABLE POST_ARGS' that a bare run: executes; then creates the Lambda function,
waits until it is Active and prints {"zip", ..., "functions": [<its description>]} as JSON.
AWS credentials come from the SDK's standard chain (env, profile, SSO, role).`,
  operands: LAMBDAIZE_OPERANDS,
  tables: [LAMBDAIZE_OPTIONS],
  notes: `Limits checked before uploading: 50 MiB zipped (direct upload), 250 MiB unzipped.
Exit status: 0 on success, 1 when building or creating failed, 2 for bad options.`,
}, 30);

/** `--name` and `-n` alike: the flags whose value is the next argument. */
const VALUE_FLAGS = new Set(
  Object.values<OptionSpec>(LAMBDAIZE_OPTIONS).flatMap((spec) => (spec.type === 'boolean' ? [] : [`--${spec.flag}`, ...(spec.short ? [`-${spec.short}`] : [])])),
);

/**
 * Options come before EXECUTABLE; everything from EXECUTABLE on is positional, so that PRE_ARGS
 * and POST_ARGS may start with '-' (`lambdaize vpxenc '' '-o ##OUTFILE## ##INFILE##'`), as in mu.
 */
function splitAtExecutable(args: string[]): { head: string[]; positionals: string[] } {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return { head: args.slice(0, i), positionals: args.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') return { head: args.slice(0, i), positionals: args.slice(i) };
    if (VALUE_FLAGS.has(arg)) i++;
  }
  return { head: args, positionals: [] };
}

/** The command line as {@link LambdaizeOptions} (defaults and env are applied when compiling); `'help'` for `--help`. */
export function parseLambdaizeArgs(args: string[]): LambdaizeOptions | 'help' {
  const { head, positionals } = splitAtExecutable(args);
  const { values, help } = parseOptionArgs(LAMBDAIZE_OPTIONS, head);
  if (help) return 'help';
  const [executable, preArgs, postArgs, ...extraFiles] = positionals;
  if (values.builtin !== undefined && positionals.length > 0) throw new ConfigError('--builtin takes no EXECUTABLE or arguments');
  return { ...values, executable, preArgs, postArgs, extraFiles };
}

export async function run(args: string[]): Promise<number> {
  let options: LambdaizeOptions | 'help';
  try {
    options = parseLambdaizeArgs(args);
  } catch (error) {
    const code = reportError('lambdaize', error);
    process.stderr.write('Run `xc-orch lambdaize --help` for the options.\n');
    return code;
  }
  if (options === 'help') {
    process.stdout.write(LAMBDAIZE_HELP);
    return 0;
  }
  try {
    const result = await lambdaize(options);
    for (const warning of result.warnings) process.stderr.write(`xc-orch lambdaize: warning: ${warning}\n`);
    process.stderr.write(`wrote ${result.zip} (${result.zippedBytes} bytes zipped, ${result.unzippedBytes} unzipped)\n`);
    if (result.functions) process.stderr.write(`created ${result.functions.map((fn) => fn.FunctionName).join(', ')}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    return reportError('lambdaize', error);
  }
}
