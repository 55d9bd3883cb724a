/**
 * `--dashboard`: a live page of the job served on 127.0.0.1, a {@link JobObserver} of the
 * coordinator. Counts (waiting, connected, done, failed, launched) are read from the coordinator's
 * own status, the one the terminal display shows, so the two cannot disagree (the embedded relay's
 * counts too, for a job whose workers talk to each other); the grid, the
 * per-state counts and each worker's history come from observer calls.
 *
 * Cheap at thousands of workers: an observer call is O(1) (a typed-array write, a counter, a
 * dirty mark, a bounded ring); the page gets one server-sent event per `intervalMs` with the
 * counts and only the cells that changed, and nothing at all is built while no page is open.
 * A worker's history and last messages are kept bounded and sent only when its cell is clicked;
 * they are the commands and answers on the wire, never the worker's invocation payload.
 *
 * @example
 * const dashboard = await startDashboard({ parts: 100, offset: 0, expected: 100, framesPerChunk: 6, status: () => coordinator?.status() });
 * console.log(`dashboard: ${dashboard.url}`);
 * const coordinator = await Coordinator.create(options, { store, log, observers: [dashboard] });
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dashboardPage } from './dashboardPage.js';
import type { JobObserver } from './jobObserver.js';
import type { LaunchReport } from '../launch/launcher.js';
import { isLoopback, localRequestAllowed } from './localRequest.js';
import type { JobStatus } from './statusDisplay.js';
import type { RelayStatus } from '../relay/relayServer.js';
import { formatCost, type RunCost } from '../coordinator/costEstimate.js';

export interface DashboardOptions {
  /** Chunks of the job (`-n`), the first chunk's number (`-o`), and frames per chunk (`-f`). */
  parts: number;
  offset: number;
  framesPerChunk: number;
  /** Workers the launcher will start (`-n` + `-X`). */
  expected: number;
  /** Chunks (as reported) whose outputs were there already (`--resume`). */
  skipped?: readonly number[];
  /** The coordinator's status (undefined until it exists). */
  status: () => JobStatus | undefined;
  /** `--dashboard PORT`: 0 picks a free port. Default 0. */
  port?: number;
  /** `--dashboard-host`: address to bind. Default 127.0.0.1. */
  host?: string;
  /** Heading of the page. Default `xc-orch job`. */
  title?: string;
  /** Push period in ms. Default 250. */
  intervalMs?: number;
  /** State entries kept per worker. Default 200. */
  historyLimit?: number;
  /** Messages (commands and answers) kept per worker. Default 20. */
  messageLimit?: number;
  /** Longest message text kept, in characters. Default 500. */
  messageChars?: number;
  /** Failed workers whose details go with the last message, so the page can show them after the job. Default 100. */
  finalFailures?: number;
}

export interface Dashboard extends Required<Pick<JobObserver, 'workerAdmitted' | 'workerState' | 'workerEnded' | 'workerMessage' | 'launch' | 'close'>> {
  /** The page to open. */
  url: string;
  /** What the page would show now (also served as `/api/status`). */
  snapshot(): DashboardSnapshot;
}

export type CellKind = 'waiting' | 'active' | 'done' | 'failed' | 'skipped';

export interface DashboardCounts {
  parts: number;
  expected: number;
  waiting: number;
  connected: number;
  done: number;
  /** Failed for good (no attempt left). */
  failed: number;
  skipped: number;
  retries: number;
  speculative: number;
  cancelled: number;
  launched: number;
  launchFailed: number;
  cost: RunCost;
  /** The cost as the status line says it. */
  costText: string;
}

/** A full picture: every cell as `[index, state id, kind]`, state ids into `names`. */
export interface DashboardSnapshot {
  offset: number;
  elapsedMs: number;
  names: string[];
  counts: DashboardCounts;
  perState: Array<[string, number]>;
  cells: Array<[number, number, CellKind]>;
  throughput: { chunksPerS: number; framesPerS: number; recentChunksPerS: number };
  /** The embedded relay's counts, when the job has one. */
  relay?: RelayStatus;
  finished?: DashboardFinish;
}

/** The last message: whether every chunk is done, and the details of (the first) failed workers, for a page that outlives the server. */
export interface DashboardFinish {
  ok: boolean;
  failures: WorkerDetail[];
}

/** What clicking a cell shows: the worker's status, its state history and last messages. */
export interface WorkerDetail {
  chunk: number;
  worker: number;
  /** The chunk's attempt this worker made (1, 2, ...). */
  attempt: number;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  state: string;
  reason?: string;
  history: Array<{ t: number; state: string }>;
  historyDropped: number;
  messages: Array<{ t: number; direction: 'in' | 'out'; text: string }>;
}

/** A worker as the dashboard keeps it: `messages` is a ring, `next` is where the next one goes. */
interface WorkerRecord extends Omit<WorkerDetail, 'worker'> {
  next: number;
}

const KIND_CODE: Record<CellKind, number> = { waiting: 0, active: 1, done: 2, failed: 3, skipped: 4 };
const KINDS: CellKind[] = ['waiting', 'active', 'done', 'failed', 'skipped'];
const RECENT_WINDOW_MS = 5000;

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { parts, offset, framesPerChunk, expected } = options;
  const intervalMs = options.intervalMs ?? 250;
  const historyLimit = options.historyLimit ?? 200;
  const messageLimit = options.messageLimit ?? 20;
  const messageChars = options.messageChars ?? 500;
  const finalFailures = options.finalFailures ?? 100;
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const startedAt = performance.now();

  const names: string[] = [];
  const nameIds = new Map<string, number>();
  const perState: number[] = [];
  const cellState = new Int32Array(parts).fill(-1);
  const cellKind = new Uint8Array(parts);
  const cellWorker = new Int32Array(parts).fill(-1);
  for (const chunk of options.skipped ?? []) if (chunk - offset >= 0 && chunk - offset < parts) cellKind[chunk - offset] = KIND_CODE.skipped;
  const workers = new Map<number, WorkerRecord>();
  const dirty = new Set<number>();
  let namesChanged = false;
  let launchFailed = 0;
  let finished: DashboardFinish | undefined;
  // (time, done) once per tick, to compute the recent rate without per-event work.
  const doneSamples: Array<[number, number]> = [];

  const stateId = (name: string): number => {
    let id = nameIds.get(name);
    if (id === undefined) {
      id = names.length;
      names.push(name);
      nameIds.set(name, id);
      perState.push(0);
      namesChanged = true;
    }
    return id;
  };
  const index = (chunk: number): number | undefined => {
    const i = chunk - offset;
    return i >= 0 && i < parts ? i : undefined;
  };
  const seconds = () => Math.round(performance.now() - startedAt) / 1000;
  const record = (worker: number, chunk: number): WorkerRecord => {
    let entry = workers.get(worker);
    if (!entry) {
      entry = { chunk, attempt: 1, status: 'running', state: '', history: [], historyDropped: 0, messages: [], next: 0 };
      workers.set(worker, entry);
    }
    entry.chunk = chunk;
    return entry;
  };

  const relayCounts = (): { relay?: RelayStatus } => {
    const relay = options.status()?.relay;
    return relay ? { relay } : {};
  };
  const counts = (): DashboardCounts => {
    const status = options.status();
    const skipped = status?.skipped ?? options.skipped?.length ?? 0;
    const cost = status?.cost ?? { workerSeconds: 0 };
    return {
      parts,
      expected,
      waiting: status?.waiting ?? parts - skipped,
      connected: status?.active ?? 0,
      done: status?.done ?? 0,
      failed: status?.failed ?? 0,
      skipped,
      retries: status?.recovery.retries ?? 0,
      speculative: status?.recovery.speculative ?? 0,
      cancelled: status?.recovery.cancelled ?? 0,
      launched: status?.launched ?? 0,
      launchFailed,
      cost,
      costText: formatCost(cost),
    };
  };
  const throughput = (done: number, now: number) => {
    const elapsedS = Math.max(1e-3, (now - startedAt) / 1000);
    const first = doneSamples.find(([t]) => now - t <= RECENT_WINDOW_MS) ?? [now, done];
    const windowS = (now - first[0]) / 1000;
    return {
      chunksPerS: done / elapsedS,
      framesPerS: (done * framesPerChunk) / elapsedS,
      recentChunksPerS: windowS > 0.5 ? (done - first[1]) / windowS : done / elapsedS,
    };
  };
  const perStateList = (): Array<[string, number]> => {
    const list: Array<[string, number]> = [];
    perState.forEach((n, id) => n > 0 && list.push([names[id]!, n]));
    return list;
  };
  const cell = (i: number): [number, number, CellKind] => [i, cellState[i]!, KINDS[cellKind[i]!]!];

  const snapshot = (): DashboardSnapshot => {
    const now = performance.now();
    const c = counts();
    const cells: Array<[number, number, CellKind]> = [];
    for (let i = 0; i < parts; i++) if (cellKind[i] !== 0 || cellState[i] !== -1) cells.push(cell(i));
    return {
      offset,
      elapsedMs: now - startedAt,
      names: [...names],
      counts: c,
      perState: perStateList(),
      cells,
      throughput: throughput(c.done, now),
      ...relayCounts(),
      ...(finished ? { finished } : {}),
    };
  };

  // --- server-sent events
  const clients = new Set<ServerResponse>();
  const MAX_BUFFERED = 1 << 20;
  const push = (response: ServerResponse, event: string, data: unknown) => {
    // A page that cannot keep up is dropped; it reconnects and gets a full picture.
    if (response.writableLength > MAX_BUFFERED) {
      clients.delete(response);
      response.destroy();
      return;
    }
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const tick = () => {
    const now = performance.now();
    const c = counts();
    doneSamples.push([now, c.done]);
    while (doneSamples.length > 2 && now - doneSamples[1]![0] > RECENT_WINDOW_MS) doneSamples.shift();
    if (clients.size === 0) {
      dirty.clear();
      namesChanged = false;
      return;
    }
    const update = {
      elapsedMs: now - startedAt,
      counts: c,
      perState: perStateList(),
      cells: [...dirty].map(cell),
      throughput: throughput(c.done, now),
      ...relayCounts(),
      ...(namesChanged ? { names } : {}),
      ...(finished ? { finished } : {}),
    };
    dirty.clear();
    namesChanged = false;
    for (const client of clients) push(client, 'update', update);
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  const workerDetail = (chunk: number): WorkerDetail | undefined => {
    const i = index(chunk);
    if (i === undefined || cellWorker[i]! < 0) return undefined;
    const worker = cellWorker[i]!;
    const entry = workers.get(worker)!;
    const ring = entry.messages;
    const messages = ring.length < messageLimit ? ring : [...ring.slice(entry.next), ...ring.slice(0, entry.next)];
    return {
      chunk,
      worker,
      attempt: entry.attempt,
      status: entry.status,
      state: entry.state,
      ...(entry.reason === undefined ? {} : { reason: entry.reason }),
      history: entry.history,
      historyDropped: entry.historyDropped,
      messages,
    };
  };

  const page = dashboardPage(options.title ?? 'xc-orch job');
  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (!localRequestAllowed(request, { loopback })) {
      response.writeHead(403).end();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://dashboard');
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    switch (url.pathname) {
      case '/':
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
        return;
      case '/events':
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        push(response, 'full', snapshot());
        if (finished) {
          response.end();
          return;
        }
        clients.add(response);
        request.on('close', () => clients.delete(response));
        return;
      case '/api/status':
        json(response, 200, snapshot());
        return;
      case '/api/worker': {
        const chunk = Number(url.searchParams.get('chunk'));
        const detail = Number.isInteger(chunk) ? workerDetail(chunk) : undefined;
        if (detail) json(response, 200, detail);
        else json(response, 404, { error: 'no worker has had this chunk' });
        return;
      }
      default:
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
  const server: Server = createServer(handle);
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;

  return {
    url: `http://${shown}:${port}/`,
    snapshot,
    workerState(worker, chunk, state) {
      const i = index(chunk);
      const entry = record(worker, chunk);
      entry.state = state;
      if (entry.history.length >= historyLimit) {
        entry.history.shift();
        entry.historyDropped++;
      }
      entry.history.push({ t: seconds(), state });
      if (i === undefined) return;
      const id = stateId(state);
      const old = cellState[i]!;
      if (cellKind[i] === KIND_CODE.active && old >= 0) perState[old]!--;
      perState[id]!++;
      cellState[i] = id;
      cellKind[i] = KIND_CODE.active;
      cellWorker[i] = worker;
      dirty.add(i);
    },
    workerAdmitted(worker, chunk, attempt) {
      record(worker, chunk).attempt = attempt;
    },
    workerEnded(worker, chunk, status, reason) {
      const i = index(chunk);
      const entry = record(worker, chunk);
      entry.status = status;
      if (reason !== undefined) entry.reason = reason;
      // Another attempt finished the chunk first: its cell already shows that one.
      if (i === undefined || status === 'cancelled') return;
      const old = cellState[i]!;
      if (cellKind[i] === KIND_CODE.active && old >= 0) perState[old]!--;
      cellKind[i] = status === 'done' ? KIND_CODE.done : KIND_CODE.failed;
      cellWorker[i] = worker;
      dirty.add(i);
    },
    workerMessage(worker, direction, text) {
      // The first command goes out while the machine starts, before its first state is reported.
      const entry = workers.get(worker) ?? record(worker, -1);
      const message = { t: seconds(), direction, text: text.length > messageChars ? `${text.slice(0, messageChars)}…` : text };
      if (entry.messages.length < messageLimit) entry.messages.push(message);
      else {
        entry.messages[entry.next] = message;
        entry.next = (entry.next + 1) % messageLimit;
      }
    },
    launch(report: LaunchReport) {
      if (report.type === 'failed') launchFailed++;
    },
    async close() {
      const c = counts();
      const failures: WorkerDetail[] = [];
      for (let i = 0; i < parts && failures.length < finalFailures; i++) {
        if (cellKind[i] === KIND_CODE.failed) failures.push(workerDetail(offset + i)!);
      }
      finished = { ok: c.failed === 0 && c.done + c.skipped === parts, failures };
      tick();
      clearInterval(timer);
      for (const client of clients) client.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
