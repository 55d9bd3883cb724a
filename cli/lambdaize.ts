/**
 * `xc-orch lambdaize`: package the worker (with an executable, or our built-in png2y4m) as a
 * Lambda function, create it, and print its description as JSON on stdout.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { BUILTINS, LAMBDAIZE_DEFAULTS, lambdaize, type LambdaizeOptions } from '../runtime/lambda/lambdaize.js';
import { intOption, reportError } from './args.js';

export const LAMBDAIZE_HELP = `Usage: xc-orch lambdaize [options] EXECUTABLE [PRE_ARGS [POST_ARGS [EXTRA_FILE...]]]
       (options go before EXECUTABLE; PRE_ARGS and POST_ARGS are one argument each)
       xc-orch lambdaize [options] --builtin png2y4m

Builds a zip with the worker runtime (one esbuild bundle, handler index.handler), the executable
and extra files in bin/ (first on the worker's PATH), and the command template
'PRE_ARGS EXECUTABLE POST_ARGS' that a bare run: executes; then creates the Lambda function,
waits until it is Active and prints {"zip", ..., "functions": [<its description>]} as JSON.
AWS credentials come from the SDK's standard chain (env, profile, SSO, role).

  --builtin NAME          pack our own tool instead of an executable (${BUILTINS.join(', ')})
  --name NAME             function name                     [executable name + random suffix]
  --copies K              K copies NAME-0 .. NAME-(K-1)     [1]
                          (Lambda starts at most 1,000 workers per 10 s per function)
  --memory MB             memory size                       [${LAMBDAIZE_DEFAULTS.memoryMb}]
  --timeout S             timeout in seconds                [${LAMBDAIZE_DEFAULTS.timeoutS}]
  --region REGION         region                            [env AWS_REGION, else ${LAMBDAIZE_DEFAULTS.region}]
  --role ARN              execution role                    [env AWS_ROLE]
  --runtime NAME          Lambda runtime                    [${LAMBDAIZE_DEFAULTS.runtime}]
  --skip-upload           write the zip and stop
  --allow-dynamic         pack a dynamically linked executable with its shared libraries
                          (copied into lib/, on LD_LIBRARY_PATH; libc and the loader are not)
  --out DIR               where the zip is written          [.]
  --lambda-endpoint URL   Lambda API endpoint               [env AWS_ENDPOINT_URL_LAMBDA, else AWS's]
  -h, --help              this help

Limits checked before uploading: 50 MiB zipped (direct upload), 250 MiB unzipped.
Exit status: 0 on success, 1 when building or creating failed, 2 for bad options.
`;

const VALUE_OPTIONS = new Set(['--builtin', '--name', '--copies', '--memory', '--timeout', '--region', '--role', '--runtime', '--out', '--lambda-endpoint']);

/**
 * Options come before EXECUTABLE; everything from EXECUTABLE on is positional, so that PRE_ARGS
 * and POST_ARGS may start with '-' (`lambdaize vpxenc '' '-o ##OUTFILE## ##INFILE##'`), as in mu.
 */
function splitAtExecutable(args: string[]): { head: string[]; positionals: string[] } {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return { head: args.slice(0, i), positionals: args.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') return { head: args.slice(0, i), positionals: args.slice(i) };
    if (VALUE_OPTIONS.has(arg)) i++;
  }
  return { head: args, positionals: [] };
}

export function parseLambdaizeArgs(args: string[]): LambdaizeOptions | 'help' {
  const split = splitAtExecutable(args);
  const positionals = split.positionals;
  const { values } = parseArgs({
    args: split.head,
    allowPositionals: false,
    strict: true,
    options: {
      builtin: { type: 'string' },
      name: { type: 'string' },
      copies: { type: 'string' },
      memory: { type: 'string' },
      timeout: { type: 'string' },
      region: { type: 'string' },
      role: { type: 'string' },
      runtime: { type: 'string' },
      'skip-upload': { type: 'boolean' },
      'allow-dynamic': { type: 'boolean' },
      out: { type: 'string' },
      'lambda-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const [executable, preArgs, postArgs, ...extraFiles] = positionals;
  if (values.builtin !== undefined && positionals.length > 0) throw new ConfigError('--builtin takes no EXECUTABLE or arguments');
  return {
    executable,
    builtin: values.builtin,
    preArgs,
    postArgs,
    extraFiles,
    name: values.name,
    copies: intOption('--copies', values.copies),
    memoryMb: intOption('--memory', values.memory),
    timeoutS: intOption('--timeout', values.timeout),
    region: values.region,
    role: values.role,
    runtime: values.runtime,
    skipUpload: values['skip-upload'],
    allowDynamic: values['allow-dynamic'],
    outDir: values.out,
    endpoint: values['lambda-endpoint'],
  };
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
