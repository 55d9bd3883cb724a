/**
 * bench/swarm: can one coordinator drive thousands of workers, and what does each message cost it?
 * Run by hand: `npm run bench:swarm` (N = 100, 1000, 5000), or e.g.
 * `npm run bench:swarm -- --n 100,1000 --frames 6 --connect-concurrency 256 --json`.
 *
 * For every N, two phases, each in a fresh process (so CPU and peak RSS are that phase's alone),
 * each against the same swarm (bench/swarmClients.ts, its own process) over real mutual TLS:
 *   - echo: the baseline, a bare framed-TLS server (bench/echoServer.ts) that sends the png2y4m
 *     machine's own commands in the machine's own round trips, with no machinery;
 *   - xc:   the real coordinator (runtime/coordinator/coordinator.ts: worker server, supervisor, one png2y4m
 *     machine per connection) with a launcher that starts the swarm.
 * Reported: total time, handshakes/s (connect + TLS + hello, seen by the swarm), server CPU per
 * frame (user + system of the server process / frames in both directions), peak RSS, and the
 * xc/echo ratios (peak RSS also as the difference per worker). Every conversation must finish, otherwise the bench says which did not and
 * exits 1.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { png2y4m } from '../jobs/png2y4m.js';
import { generateCredentials } from '../runtime/tls/certs.js';
import { Coordinator } from '../runtime/coordinator/coordinator.js';
import { LocalStore } from '../store/localStore.js';
import { compileJobRun, planJob } from '../runtime/coordinator/runJob.js';
import { EchoServer } from './echoServer.js';
import { serveSwarmOverIpc, type SwarmPlan, type SwarmStats } from './swarmClients.js';
import { IN_FORMAT, recordScript, VIDEO, VIDEO_BUCKET } from './swarmScript.js';
import { createSwarmLauncher, startSwarmProcess, type SwarmCommand } from './swarmLauncher.js';

export type PhaseMode = 'echo' | 'xc';

export interface PhaseConfig {
  mode: PhaseMode;
  n: number;
  frames: number;
  connectConcurrency: number;
  timeoutMs: number;
  /** The machine's commands grouped by round trip (see {@link recordScript}); echo phase only. */
  script: string[][];
  swarm: SwarmCommand;
  failInvocations?: number[];
}

export interface PhaseResult {
  mode: PhaseMode;
  n: number;
  frames: number;
  ok: boolean;
  /** Conversations that ended as they should (xc: chunks done). */
  completed: number;
  /** The first few reasons why conversations did not complete. */
  failures: string[];
  totalMs: number;
  handshakesPerS: number;
  handshakeP50Ms: number;
  handshakeP99Ms: number;
  /** Frames in both directions, counted by the swarm (hellos, commands incl. `quit:`, answers). */
  messages: number;
  cpuMs: number;
  cpuUsPerMessage: number;
  peakRssMb: number;
  /** RSS when the phase started (the same bundle is loaded in both phases). */
  startRssMb: number;
  swarm?: SwarmStats;
}

const FD_MARGIN = 128;

/** Run one phase in this process. */
export async function runPhase(config: PhaseConfig): Promise<PhaseResult> {
  return config.mode === 'xc' ? runCoordinatorPhase(config) : runEchoPhase(config);
}

function measure() {
  const cpu = process.cpuUsage();
  const startRss = process.memoryUsage.rss();
  const start = performance.now();
  return {
    startRssMb: startRss / 2 ** 20,
    stop: () => {
      const used = process.cpuUsage(cpu);
      return {
        totalMs: performance.now() - start,
        cpuMs: (used.user + used.system) / 1000,
        peakRssMb: (process.resourceUsage().maxRSS * 1024) / 2 ** 20,
      };
    },
  };
}

function result(config: PhaseConfig, completed: number, failures: string[], swarm: SwarmStats | undefined, measured: ReturnType<ReturnType<typeof measure>['stop']>, startRssMb: number): PhaseResult {
  const messages = swarm ? swarm.hellos + swarm.commands + swarm.answers : 0;
  const connected = swarm?.connected ?? 0;
  const problems = [...failures];
  if (!swarm) problems.push('the swarm reported no statistics');
  else {
    if (swarm.connectFailures > 0) problems.push(`${swarm.connectFailures} connections failed (${swarm.firstFailure ?? 'no detail'})`);
    if (swarm.timedOut) problems.push(`the swarm timed out after ${config.timeoutMs} ms`);
  }
  return {
    mode: config.mode,
    n: config.n,
    frames: config.frames,
    ok: completed === config.n && connected === config.n && problems.length === 0,
    completed,
    failures: problems.slice(0, 5),
    totalMs: measured.totalMs,
    handshakesPerS: swarm && swarm.handshakeSpanMs > 0 ? (connected * 1000) / swarm.handshakeSpanMs : 0,
    handshakeP50Ms: swarm?.handshakeP50Ms ?? 0,
    handshakeP99Ms: swarm?.handshakeP99Ms ?? 0,
    messages,
    cpuMs: measured.cpuMs,
    cpuUsPerMessage: messages > 0 ? (measured.cpuMs * 1000) / messages : 0,
    peakRssMb: measured.peakRssMb,
    startRssMb,
    ...(swarm ? { swarm } : {}),
  };
}

async function runCoordinatorPhase(config: PhaseConfig): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'xc-bench-swarm-'));
  try {
    const { run: options, values } = compileJobRun(png2y4m, {
      parts: config.n,
      frames: config.frames,
      video: VIDEO,
      inFormat: IN_FORMAT,
      port: 0,
      quiet: true,
      killAfterS: config.timeoutMs / 1000,
      // One conversation per worker, as the echo baseline holds: no retries or copies.
      retries: 0,
      noSpeculation: true,
    });
    const launcher = createSwarmLauncher({
      command: config.swarm,
      connectConcurrency: config.connectConcurrency,
      timeoutMs: config.timeoutMs,
      ...(config.failInvocations ? { failInvocations: config.failInvocations } : {}),
    });
    // The swarm's clients answer OK:UPLOAD without writing anything: every output counts as there.
    const store = Object.assign(new LocalStore(dir), { exists: async () => true });
    const { job } = await planJob(png2y4m, values, options, store);
    const coordinator = await Coordinator.create(options, job, { store, log: pino({ level: 'silent' }), launcher });
    const meter = measure();
    const summary = await coordinator.run();
    const measured = meter.stop();
    const done = summary.chunks.filter((c) => c.status === 'done').length;
    const failures = summary.chunks
      .filter((c) => c.status !== 'done')
      .slice(0, 3)
      .map((c) => `chunk ${c.chunk} ${c.status}: ${c.reason ?? 'no reason'}`);
    for (const f of summary.launchFailures.slice(0, 2)) failures.push(`launch ${f.invocation} failed: ${f.reason}`);
    return result(config, done, failures, launcher.stats(), measured, meter.startRssMb);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runEchoPhase(config: PhaseConfig): Promise<PhaseResult> {
  const credentials = await generateCredentials();
  const server = await EchoServer.create({
    caCert: credentials.caCert,
    serverCert: credentials.serverCert,
    serverKey: credentials.serverKey,
    script: config.script,
    expected: config.n,
    // As the coordinator sizes it (runtime/coordinator/coordinator.ts); the kernel caps it at somaxconn.
    backlog: Math.max(1024, config.n),
    handshakeTimeoutMs: 10_000,
  });
  const meter = measure();
  const plan: SwarmPlan = {
    host: '127.0.0.1',
    port: server.port,
    ca: credentials.caCert,
    cert: credentials.workerCert,
    key: credentials.workerKey,
    servername: 'xc-orch-coordinator',
    invocations: Array.from({ length: config.n }, (_, i) => i),
    connectConcurrency: config.connectConcurrency,
    bucket: VIDEO_BUCKET,
    command: 'png2y4m -i -d -o ##OUTFILE## ##INFILE##',
    timeoutMs: config.timeoutMs,
    ...(config.failInvocations ? { failInvocations: config.failInvocations } : {}),
  };
  const swarm = await startSwarmProcess(config.swarm, plan);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    server.finished,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), config.timeoutMs))),
  ]);
  clearTimeout(timer);
  const stats = await swarm.finish();
  await server.close();
  const measured = meter.stop();
  const failures = outcome
    ? outcome.firstFailure
      ? [`${outcome.failed} conversations failed, first: ${outcome.firstFailure}`]
      : []
    : [`echo server: not every conversation ended within ${config.timeoutMs} ms`];
  return result(config, outcome?.completed ?? 0, failures, stats, measured, meter.startRssMb);
}

/** Soft and hard limits on open files of this process, from /proc (Linux); undefined elsewhere. */
export function fdLimits(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line?.match(/Max open files\s+(\S+)\s+(\S+)/) ?? []).slice(1).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
    return soft !== undefined && hard !== undefined ? { soft, hard } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Run one phase in a fresh process. Each of the two processes holds N sockets. Node raises its own
 * soft open-files limit to the hard limit at start-up (and the swarm inherits it), so only the
 * hard limit can stop a run; then say so before starting instead of failing with EMFILE halfway.
 */
async function spawnPhase(self: string, config: PhaseConfig, profileDir?: string): Promise<PhaseResult> {
  const needed = config.n + FD_MARGIN;
  const limits = fdLimits();
  if (limits && limits.hard < needed) {
    throw new Error(
      `N=${config.n} needs ${needed} open files per process, but the hard limit is ${limits.hard} (ulimit -Hn); ` +
        `raise it (e.g. 'ulimit -Hn ${needed}' as root, or /etc/security/limits.conf) or use a smaller --n`,
    );
  }
  const args = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), self, '--phase'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<PhaseResult>((resolve, reject) => {
    let answered = false;
    child.on('message', (message: PhaseResult) => {
      answered = true;
      resolve(message);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!answered) reject(new Error(`${config.mode} phase for N=${config.n} exited (code ${code}, signal ${signal}) without a result`));
    });
    child.send(config);
  });
}

/** The phase process's main: one config in, one result out. */
function servePhaseOverIpc(): void {
  process.once('message', (config: PhaseConfig) => {
    runPhase(config).then(
      (outcome) => process.send?.(outcome, undefined, {}, () => process.exit(0)),
      (error: unknown) => {
        process.stderr.write(`bench/swarm phase failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}

interface BenchArgs {
  sizes: number[];
  frames: number;
  connectConcurrency: number;
  timeoutMs: number;
  json: boolean;
  only?: PhaseMode;
  failInvocations?: number[];
  /** Write a CPU profile of each phase process (the server side) into this folder. */
  profileDir?: string;
}

function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { sizes: [100, 1000, 5000], frames: 6, connectConcurrency: 256, timeoutMs: 600_000, json: false };
  const list = (value: string | undefined, what: string) => {
    const numbers = (value ?? '').split(',').map((v) => Number(v.trim()));
    if (numbers.length === 0 || numbers.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`${what} needs whole numbers, e.g. 100,1000`);
    return numbers;
  };
  const positive = (value: string | undefined, what: string) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new Error(`${what} needs a positive whole number`);
    return number;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--n':
        args.sizes = list(value(), '--n').filter((n) => n > 0);
        break;
      case '--frames':
        args.frames = positive(value(), '--frames');
        if (args.frames > 99) throw new Error('--frames must be at most 99');
        break;
      case '--connect-concurrency':
        args.connectConcurrency = positive(value(), '--connect-concurrency');
        break;
      case '--timeout-s':
        args.timeoutMs = positive(value(), '--timeout-s') * 1000;
        break;
      case '--only': {
        const mode = value();
        if (mode !== 'echo' && mode !== 'xc') throw new Error('--only takes echo or xc');
        args.only = mode;
        break;
      }
      case '--fail-invocations':
        args.failInvocations = list(value(), '--fail-invocations');
        break;
      case '--cpu-prof-dir':
        args.profileDir = value();
        if (!args.profileDir) throw new Error('--cpu-prof-dir needs a folder');
        break;
      case '--json':
        args.json = true;
        break;
      default:
        throw new Error(`unknown argument ${arg} (known: --n LIST --frames F --connect-concurrency C --timeout-s S --only echo|xc --cpu-prof-dir DIR --json)`);
    }
  }
  if (args.sizes.length === 0) throw new Error('--n needs at least one positive size');
  return args;
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(0)}`;

function table(results: PhaseResult[]): string {
  const lines = [
    '| N | server | finished | total (s) | handshakes/s | handshake p50 / p99 (ms) | frames | CPU per frame (µs) | peak RSS (MB) | swarm CPU (s) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const server = r.mode === 'xc' ? 'xc-orch coordinator' : 'echo baseline';
    lines.push(
      `| ${r.n} | ${server} | ${r.completed}/${r.n} | ${fixed(r.totalMs / 1000, 2)} | ${Math.round(r.handshakesPerS)} | ` +
        `${fixed(r.handshakeP50Ms, 1)} / ${fixed(r.handshakeP99Ms, 1)} | ${r.messages} | ${fixed(r.cpuUsPerMessage, 1)} | ${fixed(r.peakRssMb, 0)} | ${fixed((r.swarm?.cpuMs ?? 0) / 1000, 1)} |`,
    );
  }
  return lines.join('\n');
}

function ratios(results: PhaseResult[]): string[] {
  const out: string[] = [];
  for (const xc of results.filter((r) => r.mode === 'xc')) {
    const echo = results.find((r) => r.mode === 'echo' && r.n === xc.n);
    if (!echo || echo.cpuUsPerMessage === 0) continue;
    out.push(
      `N=${xc.n}: coordinator/echo CPU per frame ${fixed(xc.cpuUsPerMessage / echo.cpuUsPerMessage, 2)}x, ` +
        `total time ${fixed(xc.totalMs / echo.totalMs, 2)}x, handshakes/s ${fixed(xc.handshakesPerS / echo.handshakesPerS, 2)}x, ` +
        `peak RSS ${signed(xc.peakRssMb - echo.peakRssMb)} MB (${signed(((xc.peakRssMb - echo.peakRssMb) * 1024) / xc.n)} KiB per worker)` +
        (xc.messages === echo.messages ? '' : ` (frame counts differ: ${xc.messages} vs ${echo.messages})`),
    );
  }
  return out;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--swarm-clients') {
    serveSwarmOverIpc();
    return -1;
  }
  if (argv[0] === '--phase') {
    servePhaseOverIpc();
    return -1;
  }
  let args: BenchArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`bench/swarm: ${(error as Error).message}\n`);
    return 2;
  }
  const self = fileURLToPath(import.meta.url);
  const script = recordScript(args.frames);
  const limits = fdLimits();
  const log = (text: string) => {
    if (!args.json) process.stdout.write(`${text}\n`);
  };
  log(
    `node ${process.version}; frames per chunk ${args.frames} (${script.length} round trips + quit per worker); ` +
      `at most ${args.connectConcurrency} handshakes in flight; open files soft/hard ${limits ? `${limits.soft}/${limits.hard}` : 'unknown'}`,
  );
  const results: PhaseResult[] = [];
  const problems: string[] = [];
  const modes: PhaseMode[] = args.only ? [args.only] : ['echo', 'xc'];
  for (const n of args.sizes) {
    for (const mode of modes) {
      const config: PhaseConfig = {
        mode,
        n,
        frames: args.frames,
        connectConcurrency: args.connectConcurrency,
        timeoutMs: args.timeoutMs,
        script,
        swarm: { script: self, args: ['--swarm-clients'], ...(args.profileDir ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', args.profileDir] } : {}) },
        ...(args.failInvocations ? { failInvocations: args.failInvocations } : {}),
      };
      try {
        const outcome = await spawnPhase(self, config, args.profileDir);
        results.push(outcome);
        if (!outcome.ok) problems.push(`${mode} N=${n}: ${outcome.completed}/${n} finished; ${outcome.failures.join('; ')}`);
        log(`${mode} N=${n}: ${outcome.completed}/${n} finished in ${fixed(outcome.totalMs / 1000, 2)} s`);
      } catch (error) {
        problems.push(`${mode} N=${n}: ${(error as Error).message}`);
        log(`${mode} N=${n}: ${(error as Error).message}`);
      }
    }
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ ok: problems.length === 0, results, problems })}\n`);
  } else {
    log(`\n${table(results)}\n`);
    for (const line of ratios(results)) log(line);
    for (const problem of problems) log(`FAILED: ${problem}`);
  }
  return problems.length === 0 ? 0 : 1;
}

// Run only as the entry point (the bundle `npm run bench:swarm` builds), never when imported; real
// paths on both sides, since node_modules (where the bundle lives) may be a symlink.
if (process.argv[1] !== undefined && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1])) {
  const code = await main();
  if (code >= 0) process.exitCode = code;
}
