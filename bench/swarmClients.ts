/**
 * The swarm: N simulated workers in one process, each a real mutual-TLS connection to a
 * coordinator (or to the echo baseline) that says `OK:HELLO:<invocation>` and then answers every
 * command at once with the answers a real worker would give if everything succeeded
 * ({@link swarmAnswer}). Nothing is retrieved, run or uploaded, so what the bench measures on
 * the other end is the coordinator's own cost.
 *
 * Connections are opened in bounded batches (`connectConcurrency` handshakes in flight): the
 * kernel's accept queue is capped by `somaxconn`, and a burst far beyond it costs SYN
 * retransmissions (1 s, 3 s, ...) rather than throughput.
 *
 * Runs in its own process (`serveSwarmOverIpc`), driven over the IPC channel by
 * `bench/swarmLauncher.ts`, so that its CPU is never counted as the coordinator's.
 */
import tls from 'node:tls';
import { encodeFrame, FrameDecoder } from '../protocol/frame.js';
import { answers, helloFrame, isCommandName, splitCommand } from '../protocol/messages.js';
import { MAX_ECHOED_COMMAND_CHARS } from '../worker/commands.js';
import { isOn, parseInteger, transferParams } from '../worker/vals.js';
import { statePlaceholders } from '../worker/stateFiles.js';
import { expandCommand, type TemplateLookup } from '../worker/template.js';

/** Everything the swarm needs to know; comes from the coordinator's invocation payload. */
export interface SwarmPlan {
  host: string;
  port: number;
  /** PEM texts: the CA the coordinator must be signed by, and the workers' own pair. */
  ca: string;
  cert: string;
  key: string;
  /** The name the coordinator's certificate must carry. */
  servername: string;
  /** One connection per invocation number, in this order. */
  invocations: number[];
  /** Handshakes (connect + TLS + hello) in flight at once. */
  connectConcurrency: number;
  /** The payload's bucket: the `bucket` variable each worker starts with. */
  bucket: string;
  /** The payload's command, what a bare `run:` runs (expanded as a template). */
  command: string;
  /** Give up (destroy every connection) after this long. */
  timeoutMs: number;
  /** Invocations that answer their first `run:` with `FAIL(...)` (to prove failures are reported). */
  failInvocations?: number[];
}

/** What the swarm saw; frames are counted on the swarm's side of every connection. */
export interface SwarmStats {
  connections: number;
  /** Connections whose TLS handshake completed (hello written). */
  connected: number;
  connectFailures: number;
  /** The first connect failure, for the report. */
  firstFailure?: string;
  /** From the first connect to the last hello written. */
  handshakeSpanMs: number;
  /** Connect-to-hello latency of single connections (with `connectConcurrency` in flight). */
  handshakeP50Ms: number;
  handshakeP99Ms: number;
  /** Commands received, answers sent (hellos not included), hellos sent. */
  commands: number;
  answers: number;
  hellos: number;
  /** Connections told `quit:`, and connections that ended without it. */
  quits: number;
  closedWithoutQuit: number;
  /** Connections not yet closed when the stats were taken. */
  open: number;
  timedOut: boolean;
  elapsedMs: number;
  /** CPU (user + system) of the swarm process since it started dialling. */
  cpuMs: number;
}

/** Messages on the IPC channel between the launcher (parent) and the swarm (child). */
export type SwarmRequest = { type: 'plan'; plan: SwarmPlan } | { type: 'finish' };
export type SwarmReply = { type: 'started' } | { type: 'stats'; stats: SwarmStats };

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

/**
 * A simulated worker's variables, kept as the real worker keeps them (worker/commands.ts): `set:`
 * stores strings, `seti:` integers, seeded like the real worker's from the payload.
 */
export type SwarmVals = Map<string, string | number>;

/** The temp dir simulated workers put into `##TMPDIR##` (they write nothing there). */
export const SWARM_TMPDIR = '/tmp/xc-swarm-worker';

/**
 * Fresh vals for one simulated worker, seeded in the real worker's order with its defaults.
 *
 * @example swarmVals('file:/b').get('rm_tmpdir') // 1
 */
export function swarmVals(bucket: string): SwarmVals {
  const seeds: Array<[string, string | number]> = [['bucket', bucket], ['nonblock', 0], ['bg_silent', 0], ['hash_s3keys', 0], ['rm_tmpdir', 1], ['expect_statefile', 0], ['send_statefile', 0], ['minimal_recode', 0], ['run_iter', 0]];
  return new Map(seeds);
}

/**
 * The answers a worker gives to `text` when every transfer and command succeeds, or `null` for
 * `quit:` (hang up). Parsing, variables, templates and failure texts are the real worker's
 * (test/workerContract.test.ts holds them to it); nothing is retrieved, run or uploaded, `run:`
 * exits 0 without output, and there are no peer links.
 *
 * @example swarmAnswer('set:inkey:v-png16/00000001.png', vals, plan) // ['OK:SET(inkey)']
 */
export function swarmAnswer(text: string, vals: SwarmVals, plan: Pick<SwarmPlan, 'command'>, tmpDir = SWARM_TMPDIR): readonly string[] | null {
  const { name, arg } = splitCommand(text);
  if (!text.includes(':') || !isCommandName(name)) return [answers.fail(`no such command '${clip(text)}'`)];
  switch (name) {
    case 'set':
    case 'seti': {
      const colon = arg.indexOf(':');
      if (colon < 1) return [answers.fail('invalid syntax for SET')];
      const key = arg.slice(0, colon);
      const value = arg.slice(colon + 1);
      if (name === 'set') {
        vals.set(key, value);
        return [answers.set(key)];
      }
      const integer = parseInteger(value);
      if (integer === undefined) return [answers.fail(`could not interpret ${value} as an integer`)];
      vals.set(key, integer);
      return [answers.seti(key)];
    }
    case 'get':
    case 'geti': {
      const value = vals.get(arg);
      if (value === undefined) return [answers.fail(`no such variable ${arg}`)];
      return name === 'get' ? [answers.get(String(value))] : [answers.info(arg, String(value)), answers.geti(arg)];
    }
    case 'dump_vals':
      return [answers.dumpVals(JSON.stringify(Object.fromEntries(vals)))];
    case 'retrieve':
    case 'upload': {
      const retrieve = name === 'retrieve';
      const t = transferParams(arg, vals, tmpDir, retrieve ? 'inkey' : 'outkey', retrieve ? 'targfile' : 'fromfile');
      if (typeof t === 'string') return [answers.fail(`could not compute ${retrieve ? 'download' : 'upload'} params: ${t}`)];
      return retrieve
        ? background(vals, answers.retrieving(t.bucket, t.key, t.file), answers.retrieve(t.bucket, t.key))
        : background(vals, answers.uploading(t.file, t.bucket, t.key), answers.upload(t.bucket, t.key));
    }
    case 'run': {
      const template = arg !== '' ? arg : plan.command;
      if (template === '') return [answers.fail('no command to run: run: was given none and the function has none')];
      const runIter = integerVal(vals.get('run_iter'));
      if (runIter === undefined) return [answers.fail(`run: run_iter must be an integer, not '${clip(String(vals.get('run_iter')))}'`)];
      const states = statePlaceholders(runIter, isOn(vals.get('expect_statefile')), isOn(vals.get('minimal_recode')));
      const lookup: TemplateLookup = (key) => {
        const value = vals.get(`cmd${key}`);
        return value === undefined ? undefined : String(value);
      };
      const command = expandCommand(template, lookup, tmpDir, states.marks);
      return background(vals, answers.running(command), answers.retval(0, '', command));
    }
    case 'echo':
      return [answers.echo(arg)];
    case 'connect':
      return [answers.fail('connect: a simulated worker has no peer links')];
    case 'close_connect':
      return [answers.closeConnect()];
    case 'quit':
      return null;
  }
}

/** The final answer, preceded by the start answer when vals `nonblock` is on and `bg_silent` off. */
function background(vals: SwarmVals, start: string, final: string): readonly string[] {
  if (!isOn(vals.get('nonblock'))) return [final];
  return isOn(vals.get('bg_silent')) ? [final] : [start, final];
}

function integerVal(value: string | number | undefined): number | undefined {
  if (typeof value === 'number') return value;
  return value === undefined ? undefined : parseInteger(value);
}


function clip(text: string): string {
  return text.length <= MAX_ECHOED_COMMAND_CHARS ? text : `${text.slice(0, MAX_ECHOED_COMMAND_CHARS)}...`;
}

/**
 * Open every connection of the plan (bounded batches) and serve them until each has closed or
 * the plan's timeout expires. `stats()` may be read at any time.
 *
 * @example
 * const swarm = startSwarm(plan);
 * const stats = await swarm.finished;
 */
export function startSwarm(plan: SwarmPlan): { finished: Promise<SwarmStats>; stats: () => SwarmStats; stop: () => void } {
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const failing = new Set(plan.failInvocations ?? []);
  // One context for all: parsing the PEMs per connection would make the swarm, not the server, the bottleneck.
  const secureContext = tls.createSecureContext({ ca: plan.ca, cert: plan.cert, key: plan.key });
  const sockets = new Set<tls.TLSSocket>();
  const latencies: number[] = [];
  const counts = { connected: 0, connectFailures: 0, commands: 0, answers: 0, hellos: 0, quits: 0, closedWithoutQuit: 0, closed: 0 };
  let firstFailure: string | undefined;
  let lastHelloAt = started;
  let next = 0;
  let inFlight = 0;
  let timedOut = false;
  let resolveFinished!: (stats: SwarmStats) => void;
  const finished = new Promise<SwarmStats>((resolve) => (resolveFinished = resolve));

  const stats = (): SwarmStats => {
    const sorted = latencies.slice().sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      connections: plan.invocations.length,
      connected: counts.connected,
      connectFailures: counts.connectFailures,
      ...(firstFailure === undefined ? {} : { firstFailure }),
      handshakeSpanMs: lastHelloAt - started,
      handshakeP50Ms: at(0.5),
      handshakeP99Ms: at(0.99),
      commands: counts.commands,
      answers: counts.answers,
      hellos: counts.hellos,
      quits: counts.quits,
      closedWithoutQuit: counts.closedWithoutQuit,
      open: sockets.size,
      timedOut,
      elapsedMs: performance.now() - started,
      cpuMs: cpuMs(process.cpuUsage(cpuAtStart)),
    };
  };

  /** Stop opening connections; those never opened count as closed, so `finished` still resolves. */
  const abandon = () => {
    counts.closed += plan.invocations.length - next;
    next = plan.invocations.length;
    for (const socket of sockets) socket.destroy();
    settle();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    abandon();
  }, plan.timeoutMs);

  let settled = false;
  const settle = () => {
    if (!settled && counts.closed === plan.invocations.length) {
      settled = true;
      clearTimeout(timer);
      resolveFinished(stats());
    }
  };

  const open = (invocation: number) => {
    const begun = performance.now();
    const vals = swarmVals(plan.bucket);
    const decoder = new FrameDecoder();
    let handshaken = false;
    let quit = false;
    let failRun = failing.has(invocation);
    const socket = tls.connect({ host: plan.host, port: plan.port, secureContext, servername: plan.servername, rejectUnauthorized: true });
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      handshaken = true;
      socket.write(encodeFrame(helloFrame(invocation)));
      counts.hellos++;
      counts.connected++;
      lastHelloAt = performance.now();
      latencies.push(lastHelloAt - begun);
      inFlight--;
      pump();
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        counts.commands++;
        const text = frame.toString('utf8');
        let reply = swarmAnswer(text, vals, plan);
        if (failRun && text.startsWith('run:')) {
          failRun = false;
          reply = [answers.fail('injected by the bench')];
        }
        if (reply === null) {
          quit = true;
          counts.quits++;
          socket.end();
          return;
        }
        for (const answer of reply) {
          counts.answers++;
          socket.write(encodeFrame(answer));
        }
      }
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (!handshaken) firstFailure ??= `invocation ${invocation}: ${error.code ?? error.message}`;
    });
    socket.on('close', () => {
      sockets.delete(socket);
      counts.closed++;
      if (!handshaken) {
        counts.connectFailures++;
        inFlight--;
        pump();
      } else if (!quit) {
        counts.closedWithoutQuit++;
      }
      settle();
    });
  };

  const pump = () => {
    while (inFlight < plan.connectConcurrency && next < plan.invocations.length) {
      inFlight++;
      open(plan.invocations[next++]!);
    }
  };

  pump();
  if (plan.invocations.length === 0) settle();
  return {
    finished,
    stats,
    stop: () => {
      clearTimeout(timer);
      abandon();
    },
  };
}

/**
 * The swarm process's main: wait for a plan on the IPC channel, run it, answer `finish` with the
 * stats, and exit. Exits too when the parent goes away, so a crashed bench leaves nothing behind.
 */
export function serveSwarmOverIpc(): void {
  const send = (reply: SwarmReply, then?: () => void) => process.send?.(reply, undefined, {}, () => then?.());
  let swarm: ReturnType<typeof startSwarm> | undefined;
  process.on('disconnect', () => {
    swarm?.stop();
    process.exit(0);
  });
  process.on('message', (message: SwarmRequest) => {
    if (message.type === 'plan' && !swarm) {
      swarm = startSwarm(message.plan);
      send({ type: 'started' });
    } else if (message.type === 'finish') {
      const stats = swarm?.stats();
      swarm?.stop();
      const leave = () => process.disconnect();
      if (stats) send({ type: 'stats', stats }, leave);
      else leave();
    }
  });
}
