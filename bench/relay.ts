/**
 * bench/relay: what the rendezvous relay costs per relayed byte, against a bare TLS pipe measured
 * in the same run. Run by hand: `npm run bench:relay` (1,000 pairs, 2 frames of 0.7 MB each), or
 * e.g. `npm run bench:relay -- --pairs 200 --frames 4 --frame-bytes 700000 --rounds 3`.
 *
 * The servers run in this process, the clients (one sender and one receiver per pair, over real
 * mutual TLS) in a child process, so this process's CPU is the server's alone. Each phase first
 * connects every pair and says the hellos, then measures only the data: every sender writes its
 * frames at once, and the phase ends when every receiver has all of them. Phases, per round:
 *   - pipe:  the baseline, a TLS server that pairs connections by their hello and then pipes the
 *            sender's bytes to the receiver (decrypt and encrypt, nothing else);
 *   - relay: runtime/relay/relayServer.ts.
 * Reported: frames/s and MB/s (payload), server CPU per relayed MB and its relay/pipe ratio, and
 * the server process's peak RSS during the data (the relay assembles whole frames; a pipe does not).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES } from '../protocol/frame.js';
import { parseRelayHello } from '../runtime/relay/relayHello.js';
import { startRelay } from '../runtime/relay/relayServer.js';
import { COORDINATOR_NAME, generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';

interface BenchConfig {
  pairs: number;
  frames: number;
  frameBytes: number;
  rounds: number;
  connectConcurrency: number;
  timeoutMs: number;
}

type PhaseMode = 'pipe' | 'relay';

interface ClientPlan {
  port: number;
  pairs: number;
  frames: number;
  frameBytes: number;
  connectConcurrency: number;
  ca: string;
  cert: string;
  key: string;
}

type ToClients = { type: 'connect'; plan: ClientPlan } | { type: 'go' } | { type: 'close' };
type FromClients =
  | { type: 'ready'; connectMs: number }
  | { type: 'done'; ms: number; frames: number; payloadBytes: number; errors: string[] }
  | { type: 'failed'; error: string };

interface PhaseResult {
  mode: PhaseMode;
  ok: boolean;
  error?: string;
  connectMs: number;
  dataMs: number;
  frames: number;
  payloadBytes: number;
  cpuMs: number;
  /** The most this process held in memory during the data phase (sampled every 50 ms). */
  peakRssMb: number;
}

/** A frame's payload: a state header, then filler ending in a marker byte that receivers check. */
const MARKER = 0x5a;

// ---------------------------------------------------------------------------------------------
// Servers (this process)

/** The baseline: pair by hello, then pipe the raw bytes both ways, as a bare TLS forwarder would. */
async function startPipe(creds: RunCredentials): Promise<{ port: number; hellos: () => number; close: () => Promise<void> }> {
  const peers = new Map<string, tls.TLSSocket>();
  let hellos = 0;
  const server = tls.createServer({ key: creds.serverKey, cert: creds.serverCert, ca: creds.caCert, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  server.on('secureConnection', (socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder(256);
    // Senders wait for 'go' before writing data, so the first chunk is exactly the hello.
    socket.once('data', (chunk: Buffer) => {
      const hello = parseRelayHello(decoder.push(chunk)[0]?.toString('latin1') ?? '');
      if (typeof hello === 'string' || decoder.buffered > 0) throw new Error(`pipe baseline: bad hello (${String(hello)})`);
      hellos++;
      peers.set(hello.id, socket);
      const partner = peers.get(hello.partnerId);
      if (partner) {
        socket.pipe(partner, { end: false });
        partner.pipe(socket, { end: false });
      }
    });
  });
  server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  await once(server, 'listening');
  const address = server.address() as { port: number };
  return {
    port: address.port,
    hellos: () => hellos,
    close: async () => {
      for (const socket of peers.values()) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function runPhase(mode: PhaseMode, creds: RunCredentials, config: BenchConfig, clients: ChildProcess): Promise<PhaseResult> {
  const server =
    mode === 'pipe'
      ? await startPipe(creds)
      : await (async () => {
          const relay = await startRelay({ credentials: creds, host: '127.0.0.1', port: 0, backlog: 4096 });
          return { port: relay.address().port, hellos: () => relay.status().pairs + relay.status().waiting, close: () => relay.close() };
        })();
  const base = { mode, connectMs: 0, dataMs: 0, frames: 0, payloadBytes: 0, cpuMs: 0, peakRssMb: 0 };
  try {
    const plan: ClientPlan = {
      port: server.port,
      pairs: config.pairs,
      frames: config.frames,
      frameBytes: config.frameBytes,
      connectConcurrency: config.connectConcurrency,
      ca: creds.caCert,
      cert: creds.workerCert,
      key: creds.workerKey,
    };
    clients.send({ type: 'connect', plan } satisfies ToClients);
    const ready = await nextMessage(clients, config.timeoutMs);
    if (ready.type !== 'ready') return { ...base, ok: false, error: ready.type === 'failed' ? ready.error : 'clients did not get ready' };
    // Every hello must be in before the clock starts.
    const deadline = Date.now() + config.timeoutMs;
    while (server.hellos() < 2 * config.pairs && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (server.hellos() < 2 * config.pairs) return { ...base, ok: false, error: `${server.hellos()} hellos of ${2 * config.pairs}` };

    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
    const cpu = process.cpuUsage();
    clients.send({ type: 'go' } satisfies ToClients);
    const done = await nextMessage(clients, config.timeoutMs);
    const used = process.cpuUsage(cpu);
    clearInterval(sampler);
    clients.send({ type: 'close' } satisfies ToClients);
    if (done.type !== 'done') return { ...base, ok: false, error: done.type === 'failed' ? done.error : 'no result from the clients' };
    const expected = config.pairs * config.frames;
    const errors = [...done.errors];
    if (done.frames !== expected) errors.push(`${done.frames} frames received of ${expected}`);
    return {
      mode,
      ok: errors.length === 0,
      ...(errors.length > 0 ? { error: errors.slice(0, 3).join('; ') } : {}),
      connectMs: ready.connectMs,
      dataMs: done.ms,
      frames: done.frames,
      payloadBytes: done.payloadBytes,
      cpuMs: (used.user + used.system) / 1000,
      peakRssMb: peakRss / 2 ** 20,
    };
  } finally {
    await server.close();
  }
}

function nextMessage(child: ChildProcess, timeoutMs: number): Promise<FromClients> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish({ type: 'failed', error: `no answer from the clients within ${timeoutMs} ms` }), timeoutMs);
    const onMessage = (message: FromClients) => finish(message);
    const onExit = (code: number | null) => finish({ type: 'failed', error: `the clients exited (${code})` });
    const finish = (message: FromClients) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

// ---------------------------------------------------------------------------------------------
// Clients (the child process)

/**
 * Counts frames on a receiver without assembling them (1,000 receivers would otherwise hold 0.7 GB):
 * reads each header, skips the payload, and checks its length and last byte.
 */
class FrameCounter {
  frames = 0;
  payloadBytes = 0;
  error: string | undefined;
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private remaining = 0;
  private last = 0;

  constructor(private readonly frameBytes: number) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.byteLength && this.error === undefined) {
      if (this.remaining === 0 && this.headerFilled < FRAME_HEADER_BYTES) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headerFilled, chunk.byteLength - at);
        chunk.copy(this.header, this.headerFilled, at, at + n);
        this.headerFilled += n;
        at += n;
        if (this.headerFilled < FRAME_HEADER_BYTES) return;
        this.remaining = Number(this.header.toString('latin1', 0, 12));
        if (this.remaining !== this.frameBytes) this.error = `frame of ${this.remaining} bytes, expected ${this.frameBytes}`;
        continue;
      }
      const n = Math.min(this.remaining, chunk.byteLength - at);
      at += n;
      this.remaining -= n;
      this.last = chunk[at - 1]!;
      if (this.remaining === 0) {
        if (this.last !== MARKER) this.error = `frame ${this.frames} does not end with its marker byte`;
        this.frames++;
        this.payloadBytes += this.frameBytes;
        this.headerFilled = 0;
      }
    }
  }
}

function connectClient(plan: ClientPlan): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: plan.port, ca: plan.ca, cert: plan.cert, key: plan.key, servername: COORDINATOR_NAME });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function serveClients(): Promise<void> {
  let sockets: tls.TLSSocket[] = [];
  let go: (() => void) | undefined;
  const send = (message: FromClients) => process.send?.(message);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ToClients) => {
    if (message.type === 'go') go?.();
    else if (message.type === 'close') {
      for (const socket of sockets) socket.destroy();
      sockets = [];
    } else void runClients(message.plan).catch((error: unknown) => send({ type: 'failed', error: String(error) }));
  });

  async function runClients(plan: ClientPlan): Promise<void> {
    const started = performance.now();
    const receivers: FrameCounter[] = [];
    const senders: tls.TLSSocket[] = [];
    let complete = 0;
    let resolveDone!: () => void;
    const allDone = new Promise<void>((resolve) => (resolveDone = resolve));
    for (let start = 0; start < plan.pairs; start += plan.connectConcurrency) {
      const batch = Array.from({ length: Math.min(plan.connectConcurrency, plan.pairs - start) }, (_, k) => start + k);
      await Promise.all(
        batch.map(async (i) => {
          const [receiver, sender] = await Promise.all([connectClient(plan), connectClient(plan)]);
          sockets.push(receiver, sender);
          const counter = new FrameCounter(plan.frameBytes);
          receivers.push(counter);
          receiver.on('data', (chunk: Buffer) => {
            const before = counter.frames;
            counter.push(chunk);
            if (before < plan.frames && (counter.frames >= plan.frames || counter.error !== undefined) && ++complete === plan.pairs) resolveDone();
          });
          receiver.write(encodeFrame(`HELLO_STATE:bench:${2 * i + 1}:${2 * i}`));
          sender.write(encodeFrame(`HELLO_STATE:bench:${2 * i}:${2 * i + 1}`));
          senders.push(sender);
        }),
      );
    }
    const payload = Buffer.alloc(plan.frameBytes, 0x20);
    payload.write('STATE(1):');
    payload[plan.frameBytes - 1] = MARKER;
    const frame = encodeFrame(payload);
    await new Promise<void>((resolve) => {
      go = resolve;
      send({ type: 'ready', connectMs: performance.now() - started });
    });
    const t0 = performance.now();
    for (const sender of senders) for (let f = 0; f < plan.frames; f++) sender.write(frame);
    await allDone;
    const errors = receivers.flatMap((counter) => (counter.error ? [counter.error] : []));
    send({
      type: 'done',
      ms: performance.now() - t0,
      frames: receivers.reduce((sum, counter) => sum + counter.frames, 0),
      payloadBytes: receivers.reduce((sum, counter) => sum + counter.payloadBytes, 0),
      errors: errors.slice(0, 3),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Main

function parseConfig(argv: string[]): BenchConfig {
  const config: BenchConfig = { pairs: 1000, frames: 2, frameBytes: 700_000, rounds: 2, connectConcurrency: 100, timeoutMs: 300_000 };
  const names: Record<string, keyof BenchConfig> = {
    '--pairs': 'pairs',
    '--frames': 'frames',
    '--frame-bytes': 'frameBytes',
    '--rounds': 'rounds',
    '--connect-concurrency': 'connectConcurrency',
    '--timeout-ms': 'timeoutMs',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]!];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 1) throw new Error(`bench:relay: bad option ${argv[i]} ${argv[i + 1] ?? ''} (options: ${Object.keys(names).join(' ')})`);
    config[key] = value;
  }
  return config;
}

async function main(): Promise<number> {
  const config = parseConfig(process.argv.slice(2));
  const creds = await generateCredentials();
  const clients = fork(fileURLToPath(import.meta.url), ['--clients'], { stdio: 'inherit' });
  const results: PhaseResult[] = [];
  try {
    for (let round = 1; round <= config.rounds; round++) {
      for (const mode of ['pipe', 'relay'] as const) {
        const result = await runPhase(mode, creds, config, clients);
        results.push(result);
        process.stderr.write(`round ${round} ${mode}: ${result.ok ? `${result.dataMs.toFixed(0)} ms, ${result.cpuMs.toFixed(0)} ms CPU` : `FAILED: ${result.error}`}\n`);
        if (!result.ok) return 1;
      }
    }
  } finally {
    clients.disconnect();
  }
  const mb = (r: PhaseResult) => r.payloadBytes / 1e6;
  const rows = results.map((r, i) => {
    const pipe = results[i - (r.mode === 'relay' ? 1 : 0)]!;
    const cpuPerMb = r.cpuMs / mb(r);
    const ratio = r.mode === 'relay' ? ` ${(cpuPerMb / (pipe.cpuMs / mb(pipe))).toFixed(2)}x |` : ' 1 |';
    return (
      `| ${Math.floor(i / 2) + 1} | ${r.mode} | ${r.frames} | ${((r.frames * 1000) / r.dataMs).toFixed(0)} | ${((mb(r) * 1000) / r.dataMs).toFixed(0)} | ` +
      `${cpuPerMb.toFixed(2)} |${ratio} ${r.peakRssMb.toFixed(0)} | ${(r.connectMs / 1000).toFixed(1)} |`
    );
  });
  process.stdout.write(
    [
      `${config.pairs} pairs, ${config.frames} frames of ${config.frameBytes} bytes per pair; node ${process.version}`,
      '',
      '| round | server | frames | frames/s | MB/s | server CPU ms per MB | vs pipe | server peak RSS (MB) | connect + hellos (s) |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n'),
  );
  return 0;
}

if (process.argv.includes('--clients')) await serveClients();
else process.exitCode = await main();
