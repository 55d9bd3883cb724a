/**
 * `xc-orch run png2y4m [options]`: the png2y4m job of mu with mu's options, long forms and defaults.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { RUN_DEFAULTS, type LauncherKind, type RunOptions } from '../runtime/coordinator/runOptions.js';
import { intOption, numberOption, reportError } from './args.js';
import { runPng2y4mJob } from './runJob.js';

export const RUN_HELP = `Usage: xc-orch run png2y4m [options]

Converts PNG frames VIDEO-INFMT/%08d.png in the store into Y4M chunks VIDEO-y4m_FF/%08d.y4m,
one worker per chunk of FF frames. Workers dial back to this coordinator over mutual TLS.

Job:
  -n, --parts N            chunks, one worker each                     [${RUN_DEFAULTS.parts}]
  -f, --frames N           frames per chunk (1-99)                     [${RUN_DEFAULTS.frames}]
  -o, --offset N           number of the first chunk                   [${RUN_DEFAULTS.offset}]
  -v, --video NAME         video name (key prefix)                     [${RUN_DEFAULTS.video}]
  -i, --in-format NAME     input format (folder suffix)                [${RUN_DEFAULTS.inFormat}]
  -b, --bucket STORE       file:DIR (a local folder) or an S3 bucket   [${RUN_DEFAULTS.bucket}]
  -M, --hash-keys          hashed key names: 4 hex digits of the MD5 of the file name, then
                           a dash, before each key (mu's hash_s3keys; spreads S3 partitions)
      --s3-endpoint URL    endpoint of an S3-compatible service
Workers:
      --launcher KIND      local: child processes on this machine;     [${RUN_DEFAULTS.launcher}]
                           none: start nothing, write the payload to --payload-out and wait
                           for workers started with 'xc-orch worker --event FILE';
                           lambda: invoke the function -l in the regions -r (see lambdaize)
      --payload-out FILE   where --launcher none writes the invocation payload (mode 0600)
  -X, --spares N           extra workers that take over chunks whose worker never arrives [${RUN_DEFAULTS.spares}]
  -m, --kill-after S       fail workers still running after S seconds  [never]
      --answer-timeout S   seconds a worker may take to answer one command [${RUN_DEFAULTS.answerTimeoutS}]
      --arrival-timeout S  seconds within which launched workers must connect, else their
                           launch counts as failed (0: wait; none launcher: waits) [${RUN_DEFAULTS.arrivalTimeoutS}]
      --launch-concurrency N  launches in flight at once               [${RUN_DEFAULTS.launchConcurrency}]
  -l, --function NAME      Lambda function name                        [${RUN_DEFAULTS.functionName}]
  -r, --regions R1,R2      Lambda regions; invocation k goes to region k mod R; the first
                           is also the S3 region                       [${RUN_DEFAULTS.regions.join(',')}]
      --lambda-endpoint URL  a Lambda-compatible API instead of AWS (env AWS_ENDPOINT_URL_LAMBDA)
Network and TLS:
  -t, --port N             TLS port to listen on (0: any free port)    [${RUN_DEFAULTS.port}]
      --host ADDR          address workers dial back to   [127.0.0.1 for local workers,
                           else this machine's first non-loopback IPv4 address]
  -c, --ca-cert FILE       CA certificate       (env CA_CERT)          [fresh per run, never written]
  -s, --server-cert FILE   server certificate   (env SRV_CERT)
  -k, --server-key FILE    server private key   (env SRV_KEY); the workers' pair is
                           worker_cert.pem/worker_key.pem beside -s (as 'xc-orch genkeys' writes
                           them) or env WRK_CERT/WRK_KEY; env values may be paths or PEM text
      --max-frame-bytes N  largest frame accepted from a worker        [${RUN_DEFAULTS.maxFrameBytes}]
Output:
  -O, --times FILE         write every state entry with its time (JSON lines)
  -P, --profile FILE       write a CPU profile of the coordinator (.cpuprofile)
      --json               print the summary as JSON on stdout
  -q, --quiet              no live status on stderr
  -D, --debug              debug logging on stderr
  -h, --help               this help
Seeing the job:
      --dashboard [PORT]   serve a live dashboard on 127.0.0.1 (no PORT: any free port) and print its URL
      --dashboard-host ADDR  address the dashboard binds                [127.0.0.1]
      --plot FILE          draw the job's timeline to FILE (.html or .svg) when it ends
      --inspect            stream XState inspection to Stately's inspector: prints a local page
                           to open (it embeds stately.ai/inspect, so that browser needs internet)
      --inspect-port N     port of that page and its WebSocket (0: any free port) [${RUN_DEFAULTS.inspectPort}]
      --inspect-sample K   worker machines inspected besides the supervisor, spread over the
                           chunks (inspecting is slow: 1,000 made a run ~3x slower) [${RUN_DEFAULTS.inspectSample}]
      --inspect-record FILE  write the inspection stream as JSON lines (with or without --inspect)

Exit status: 0 when every chunk was converted, 1 when the job failed, 2 for bad options
or missing input frames (checked before any worker is launched).
`;

/**
 * `--dashboard` takes an optional port, which parseArgs cannot express: a bare `--dashboard`
 * (not followed by a number) becomes `--dashboard=0`, i.e. any free port.
 *
 * @example withOptionalPort(['png2y4m', '--dashboard', '-n', '4']) // ['png2y4m', '--dashboard=0', '-n', '4']
 */
export function withOptionalPort(args: readonly string[], flag = '--dashboard'): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)];
    if (arg === flag && !/^\d+$/.test(args[i + 1] ?? '')) out.push(`${flag}=0`);
    else out.push(arg);
  }
  return out;
}

export function parseRunArgs(args: string[]): RunOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: withOptionalPort(args),
    allowPositionals: true,
    strict: true,
    options: {
      parts: { type: 'string', short: 'n' },
      frames: { type: 'string', short: 'f' },
      offset: { type: 'string', short: 'o' },
      video: { type: 'string', short: 'v' },
      'in-format': { type: 'string', short: 'i' },
      bucket: { type: 'string', short: 'b' },
      'hash-keys': { type: 'boolean', short: 'M' },
      's3-endpoint': { type: 'string' },
      'lambda-endpoint': { type: 'string' },
      launcher: { type: 'string' },
      'payload-out': { type: 'string' },
      spares: { type: 'string', short: 'X' },
      'kill-after': { type: 'string', short: 'm' },
      'answer-timeout': { type: 'string' },
      'arrival-timeout': { type: 'string' },
      'launch-concurrency': { type: 'string' },
      function: { type: 'string', short: 'l' },
      regions: { type: 'string', short: 'r' },
      port: { type: 'string', short: 't' },
      host: { type: 'string' },
      'ca-cert': { type: 'string', short: 'c' },
      'server-cert': { type: 'string', short: 's' },
      'server-key': { type: 'string', short: 'k' },
      'max-frame-bytes': { type: 'string' },
      times: { type: 'string', short: 'O' },
      profile: { type: 'string', short: 'P' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      debug: { type: 'boolean', short: 'D' },
      help: { type: 'boolean', short: 'h' },
      dashboard: { type: 'string' },
      'dashboard-host': { type: 'string' },
      plot: { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-port': { type: 'string' },
      'inspect-sample': { type: 'string' },
      'inspect-record': { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const [job, ...extra] = positionals;
  if (job !== 'png2y4m') throw new ConfigError(job === undefined ? 'name the job to run: xc-orch run png2y4m' : `unknown job '${job}' (known: png2y4m)`);
  if (extra.length > 0) throw new ConfigError(`unexpected argument '${extra[0]}'`);
  return {
    parts: intOption('-n', values.parts),
    frames: intOption('-f', values.frames),
    offset: intOption('-o', values.offset),
    video: values.video,
    inFormat: values['in-format'],
    bucket: values.bucket,
    hashKeys: values['hash-keys'],
    s3Endpoint: values['s3-endpoint'] ?? process.env.AWS_ENDPOINT_URL_S3,
    lambdaEndpoint: values['lambda-endpoint'],
    launcher: values.launcher as LauncherKind | undefined,
    payloadOut: values['payload-out'],
    spares: intOption('-X', values.spares),
    killAfterS: numberOption('-m', values['kill-after']),
    answerTimeoutS: numberOption('--answer-timeout', values['answer-timeout']),
    arrivalTimeoutS: numberOption('--arrival-timeout', values['arrival-timeout']),
    launchConcurrency: intOption('--launch-concurrency', values['launch-concurrency']),
    functionName: values.function,
    regions: values.regions?.split(',').map((r) => r.trim()).filter((r) => r !== ''),
    port: intOption('-t', values.port),
    host: values.host,
    caCert: values['ca-cert'] ?? process.env.CA_CERT,
    serverCert: values['server-cert'] ?? process.env.SRV_CERT,
    serverKey: values['server-key'] ?? process.env.SRV_KEY,
    maxFrameBytes: intOption('--max-frame-bytes', values['max-frame-bytes']),
    timesFile: values.times,
    profileFile: values.profile,
    json: values.json,
    quiet: values.quiet,
    debug: values.debug,
    dashboardPort: intOption('--dashboard', values.dashboard),
    dashboardHost: values['dashboard-host'],
    plotFile: values.plot,
    inspect: values.inspect,
    inspectPort: intOption('--inspect-port', values['inspect-port']),
    inspectSample: intOption('--inspect-sample', values['inspect-sample']),
    inspectRecord: values['inspect-record'],
  };
}

export async function run(args: string[]): Promise<number> {
  let options: RunOptions | 'help';
  try {
    options = parseRunArgs(args);
  } catch (error) {
    const code = reportError('run', error);
    process.stderr.write('Run `xc-orch run --help` for the options.\n');
    return code;
  }
  if (options === 'help') {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  return runPng2y4mJob(options);
}
