/**
 * `--inspect` and `--inspect-record`: XState inspection of the supervisor and of a sample of
 * worker machines, converted by `@statelyai/inspect` into the Stately inspector's event format and
 * sent over a WebSocket served on 127.0.0.1 (its page embeds Stately's inspector) and/or written
 * as JSON lines.
 *
 * Why a sample: inspecting 1,000 connections made a run 2.5-3.5x slower and tripled its memory, so
 * only K workers are inspected (default: all when there are at most 8, else 8 spread over the
 * chunks). Why our own transport: `createWebSocketInspector` dials a separate relay server and
 * drops all but 200 events until it is connected; here the inspector's adapter writes straight
 * to the connected browsers and to the record file, and keeps every actor registration (plus a
 * window of recent events) for a browser that opens the page late.
 *
 * Live objects never reach a serialiser: before an XState event is handed to the inspector, its
 * snapshot is reduced to status, value, context, output and error, and context, events and
 * output pass through {@link sanitizeInspected} (depth, width and length bounded, live objects
 * and credential-like fields replaced by markers).
 *
 * @example
 * const inspector = await startInspector({ parts: 100, offset: 0, sample: 8, port: 0 });
 * const coordinator = await Coordinator.create(options, { store, log, inspection: inspector.inspection });
 * console.log(`open ${inspector.url}`);
 * await coordinator.run();
 * await inspector.close();
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import type { AnyEventObject, InspectionEvent, MachineContext } from 'xstate';
import { sanitizeInspected } from './inspectionSanitizer.js';
import { inspectorBridgePage } from './inspectorBridgePage.js';
import type { JobInspection } from './jobObserver.js';
import { isLoopback, localRequestAllowed } from './localRequest.js';

export interface InspectorOptions {
  /** Chunks of the job (`-n`) and the first chunk's number (`-o`): the sample is drawn from these. */
  parts: number;
  offset: number;
  /** `--inspect-sample`: worker machines inspected. Default {@link DEFAULT_INSPECT_SAMPLE}. */
  sample?: number;
  /** `--inspect-port`: serve the inspector page and WebSocket here (0: any free port); absent: no server. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** `--inspect-record`: write every inspection event as one JSON line to this file. */
  recordFile?: string;
  /** The inspector UI embedded by the page. Default `https://stately.ai/inspect`. */
  inspectorUrl?: string;
  /** Recent non-registration events replayed to a late browser. Default 2000. */
  replay?: number;
}

export const DEFAULT_INSPECT_SAMPLE = 8;
export const DEFAULT_INSPECTOR_URL = 'https://stately.ai/inspect';

export interface JobInspector {
  /** Give this to the coordinator. */
  inspection: JobInspection;
  /** Absolute chunk numbers whose worker machine is inspected. */
  sampledChunks: readonly number[];
  /** The page to open (embeds Stately's inspector), when a server runs. */
  url?: string;
  /** The raw event stream, for other tools (`@statelyai/inspect`'s receivers, tests). */
  webSocketUrl?: string;
  /** Inspection events sent so far. */
  sent(): number;
  /** Deliver what is still queued, close the server and the record file. */
  close(): Promise<void>;
}

/**
 * K chunks spread evenly over the job (all of them when K >= parts), as absolute chunk numbers.
 *
 * @example sampleChunks(100, 0, 4) // [0, 25, 50, 75]
 */
export function sampleChunks(parts: number, offset: number, k: number): number[] {
  if (k >= parts) return Array.from({ length: parts }, (_, i) => offset + i);
  return Array.from({ length: Math.max(0, k) }, (_, i) => offset + Math.floor((i * parts) / k));
}

/** What the inspector keeps of a snapshot: never the machine, children, or anything live. */
function plainSnapshot(snapshot: unknown): Record<string, unknown> {
  const s = (snapshot ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { status: s.status };
  if ('value' in s) out.value = sanitizeInspected(s.value);
  if ('context' in s) out.context = sanitizeInspected(s.context);
  if (s.output !== undefined) out.output = sanitizeInspected(s.output);
  if (s.error !== undefined) out.error = sanitizeInspected(s.error);
  return out;
}

type ActorLike = { id?: string; sessionId: string; _parent?: { sessionId: string }; logic?: { config?: unknown }; getSnapshot(): unknown };

/**
 * A stand-in for an actor ref carrying only what `@statelyai/inspect` reads (ids, parent, the
 * machine's config for the diagram, and a plain snapshot), so its serialiser never walks the
 * live actor, its system or its machine.
 */
function standIn(actor: ActorLike): ActorLike {
  const config = actor.logic?.config;
  return {
    ...(actor.id === undefined ? {} : { id: actor.id }),
    sessionId: actor.sessionId,
    ...(actor._parent ? { _parent: { sessionId: actor._parent.sessionId } } : {}),
    logic: { config: config && typeof config === 'object' ? config : undefined },
    getSnapshot: () => plainSnapshot(actor.getSnapshot()),
  };
}

/** The XState event with live parts replaced, or undefined for kinds the Stately inspector ignores. */
function lighten(event: InspectionEvent): InspectionEvent | undefined {
  const actorRef = standIn(event.actorRef as unknown as ActorLike);
  switch (event.type) {
    case '@xstate.actor':
      return { ...event, actorRef } as unknown as InspectionEvent;
    case '@xstate.event':
      return {
        ...event,
        actorRef,
        sourceRef: event.sourceRef ? standIn(event.sourceRef as unknown as ActorLike) : undefined,
        event: sanitizeInspected(event.event) as AnyEventObject,
      } as unknown as InspectionEvent;
    case '@xstate.snapshot':
      return { ...event, actorRef, event: sanitizeInspected(event.event) as AnyEventObject, snapshot: plainSnapshot(event.snapshot) } as unknown as InspectionEvent;
    default:
      return undefined; // microsteps, actions, transitions: the Stately inspector does not use them
  }
}

export async function startInspector(options: InspectorOptions): Promise<JobInspector> {
  const sample = options.sample ?? DEFAULT_INSPECT_SAMPLE;
  const sampledChunks = sampleChunks(options.parts, options.offset, sample);
  const sampled = new Set(sampledChunks);
  const replayLimit = options.replay ?? 2000;
  const registrations: string[] = [];
  const recent: string[] = [];
  let recentStart = 0;
  let sent = 0;
  const clients = new Set<WebSocket>();

  let record: WriteStream | undefined;
  let recordFailure: Error | undefined;
  if (options.recordFile) {
    record = createWriteStream(options.recordFile, { flags: 'w' });
    await once(record, 'open');
    record.on('error', (error) => {
      recordFailure = error;
    });
  }

  const deliver = (event: StatelyInspectionEvent) => {
    let line: string;
    try {
      line = JSON.stringify(event);
    } catch {
      return; // a value the sanitiser let through yet JSON cannot hold: drop the event, not the job
    }
    sent++;
    if (event.type === '@xstate.actor') registrations.push(line);
    else if (replayLimit > 0) {
      // A ring over an array: O(1) per event, compacted now and then.
      recent.push(line);
      if (recent.length - recentStart > replayLimit) recentStart++;
      if (recentStart > replayLimit) recent.splice(0, recentStart), (recentStart = 0);
    }
    record?.write(`${line}\n`);
    for (const client of clients) if (client.readyState === WebSocket.OPEN) client.send(line);
  };

  const inspector = createInspector(
    { send: deliver },
    {
      // Events and contexts are already plain when they get here; these keep it so for any path
      // that reaches the inspector directly. Both may be called with undefined.
      sanitizeContext: (context) => sanitizeInspected(context) as MachineContext,
      sanitizeEvent: (event) => (event === undefined ? event : (sanitizeInspected(event) as AnyEventObject)),
      serializationDepthLimit: 8,
    },
  );
  const observe = (event: InspectionEvent) => {
    const light = lighten(event);
    if (light) inspector.inspect.next?.(light);
  };

  let server: Server | undefined;
  let sockets: WebSocketServer | undefined;
  let url: string | undefined;
  let webSocketUrl: string | undefined;
  if (options.port !== undefined) {
    const host = options.host ?? '127.0.0.1';
    const loopback = isLoopback(host);
    const page = inspectorBridgePage(options.inspectorUrl ?? DEFAULT_INSPECTOR_URL);
    server = createServer((request, response) => {
      if (!localRequestAllowed(request, { loopback })) {
        response.writeHead(403).end();
        return;
      }
      if (request.method !== 'GET' || (request.url ?? '/').split('?')[0] !== '/') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
    });
    sockets = new WebSocketServer({
      server,
      maxPayload: 1024, // we only talk; nothing a client sends is read
      verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, code?: number) => void) => done(localRequestAllowed(req, { loopback }), 403),
    });
    sockets.on('connection', (client) => {
      for (const line of registrations) client.send(line);
      for (let i = recentStart; i < recent.length; i++) client.send(recent[i]!);
      clients.add(client);
      client.on('close', () => clients.delete(client));
      client.on('error', () => clients.delete(client));
    });
    server.listen(options.port, host);
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    url = `http://${shown}:${port}/`;
    webSocketUrl = `ws://${shown}:${port}/`;
  }

  return {
    inspection: {
      supervisor: observe,
      worker: (chunk) => (sampled.has(chunk) ? observe : undefined),
    },
    sampledChunks,
    ...(url ? { url } : {}),
    ...(webSocketUrl ? { webSocketUrl } : {}),
    sent: () => sent,
    async close() {
      // @statelyai/inspect converts each event on a later tick; let those land first.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
      inspector.stop();
      for (const client of clients) client.close(1001, 'job over');
      clients.clear();
      if (sockets) await new Promise<void>((resolve) => sockets!.close(() => resolve()));
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      if (record) {
        record.end();
        if (!record.closed) await once(record, 'close').catch(() => undefined);
        if (recordFailure) throw recordFailure;
      }
    },
  };
}
