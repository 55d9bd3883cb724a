/**
 * ExCamera's chain without the coordinator, for the chain test and bench/xcenc.ts: one worker per
 * chunk (the worker runtime, in process; its commands are real processes), each driven over mutual
 * TLS by the xcenc machine itself, states passed through the embedded relay, all on 127.0.0.1.
 * The scripted coordinator carries the frames; the machine decides every command.
 *
 * @example
 * const run = await runXcencChain({ dir, chunks, groupSize: 3, quality: 30, path, timeoutMs: 60_000 });
 * run.outcomes.every((o) => o.status === 'done'); run.outputs[0] // chunk 0's IVF
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createActor } from 'xstate';
import { describeError } from '../../common/errors.js';
import type { ConnectionOutput } from '../../machines/events.js';
import { xcencChunkKeys, xcencMachine, type XcencInput } from '../../machines/xcenc.js';
import { parseHello } from '../../protocol/messages.js';
import { startRelay, type RelayStatus } from '../../runtime/relay/relayServer.js';
import { generateCredentials } from '../../runtime/tls/certs.js';
import { LocalStore } from '../../store/localStore.js';
import { runWorker, type WorkerExit } from '../../worker/worker.js';
import { startScriptedCoordinator, type CoordinatorSession } from './scriptedCoordinator.js';
import { workerEvent } from './workerEvent.js';

export interface XcencChainOptions {
  /** Folder for the store (`DIR/store`) and the workers' temp dirs (`DIR/tmp`). */
  dir: string;
  /** Y4M chunks in order: chunk c is `chunks[c]`. */
  chunks: readonly Buffer[];
  groupSize: number;
  quality: number;
  /** PATH of the workers' commands (vpxenc, xc-enc, xc-dump). */
  path: string;
  /** Bound on every wait: an answer, a worker's arrival, a state. */
  timeoutMs: number;
  video?: string;
}

export interface XcencChainResult {
  /** The machine's output for every chunk, in chunk order. */
  outcomes: ConnectionOutput[];
  /** Every chunk's uploaded IVF (undefined where none was uploaded). */
  outputs: Array<Buffer | undefined>;
  workerExits: WorkerExit[];
  relay: RelayStatus;
}

const VIDEO = 'clip';
const IN_FORMAT = 'y4m_06';

/** Feed one session's frames to a fresh xcenc actor for the chunk its hello names, until it ends. */
async function drive(session: CoordinatorSession, inputFor: (chunk: number) => XcencInput, timeoutMs: number): Promise<{ chunk: number; output: ConnectionOutput }> {
  const hello = parseHello(await session.next(timeoutMs));
  if (hello?.invocation === undefined) throw new Error(`a worker said ${JSON.stringify(session.frames[0])} instead of OK:HELLO:ID`);
  const chunk = hello.invocation;
  const actor = createActor(xcencMachine, { input: inputFor(chunk) });
  actor.on('worker.command', ({ text }) => session.send(text));
  actor.start();
  while (actor.getSnapshot().status === 'active') {
    let text: string;
    try {
      text = await session.next(timeoutMs);
    } catch (error) {
      actor.send({ type: 'socket.closed', reason: describeError(error) });
      break;
    }
    actor.send({ type: 'socket.message', text });
  }
  const output = actor.getSnapshot().output!;
  if (output.status === 'failed') session.destroy();
  return { chunk, output };
}

export async function runXcencChain(options: XcencChainOptions): Promise<XcencChainResult> {
  const { dir, chunks, groupSize, quality, timeoutMs } = options;
  const video = options.video ?? VIDEO;
  const credentials = await generateCredentials();
  const store = new LocalStore(join(dir, 'store'));
  const tmpRoot = join(dir, 'tmp');
  await mkdir(tmpRoot, { recursive: true });
  for (const [chunk, bytes] of chunks.entries()) await store.put(xcencChunkKeys({ chunk, video, inFormat: IN_FORMAT, quality, groupSize }).inputKey, bytes);

  const relay = await startRelay({ credentials, host: '127.0.0.1', port: 0 });
  const coordinator = await startScriptedCoordinator({ credentials, timeoutMs });
  const runId = `xcenc${process.pid}`;
  const inputFor = (chunk: number): XcencInput => ({
    chunk,
    lastChunk: chunks.length - 1,
    groupSize,
    video,
    inFormat: IN_FORMAT,
    quality,
    relay: { host: '127.0.0.1', port: relay.address().port },
    runId,
    stateWaitMs: timeoutMs,
    answerTimeoutMs: timeoutMs,
  });
  try {
    const env = { ...process.env, PATH: options.path };
    const workers = chunks.map((_bytes, chunk) =>
      runWorker(
        workerEvent(credentials, coordinator.port, { id: chunk, bucket: store.name }),
        { tmpRoot, env, stateWaitMs: timeoutMs },
      ),
    );
    const driven = await Promise.all(chunks.map(async () => drive(await coordinator.nextSession(timeoutMs), inputFor, timeoutMs)));
    const workerExits = await Promise.all(workers);
    const outcomes: ConnectionOutput[] = [];
    for (const { chunk, output } of driven) outcomes[chunk] = output;
    const outputs = await Promise.all(
      chunks.map((_bytes, chunk) => readFile(store.pathOf(xcencChunkKeys(inputFor(chunk)).outputKey)).catch(() => undefined)),
    );
    return { outcomes, outputs, workerExits, relay: relay.status() };
  } finally {
    await coordinator.close();
    await relay.close();
    await rm(tmpRoot, { recursive: true, force: true });
  }
}
