import { connect as netConnect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { ConfigError } from '../common/errors.js';
import { createWorkerServer, type WorkerConnection, type WorkerServer, type WorkerServerOptions } from '../runtime/coordinator/workerServer.js';
import { connectTlsClient, type TlsTestClient } from './support/tlsClient.js';
import { WAIT } from './support/wait.js';

let creds: RunCredentials;
let foreign: RunCredentials;

beforeAll(async () => {
  [creds, foreign] = await Promise.all([generateCredentials(), generateCredentials()]);
});

/** A server on 127.0.0.1 whose workers echo back `got:<text>` and record how they closed. */
interface Harness {
  server: WorkerServer;
  port: number;
  workers: WorkerConnection[];
  messages: Map<number, string[]>;
  closes: Map<number, string[]>;
  client(extra?: { cert?: string; key?: string; ca?: string }): Promise<TlsTestClient>;
  worker(hello?: string): Promise<{ client: TlsTestClient; conn: WorkerConnection }>;
}

const harnesses: Harness[] = [];
const clients: TlsTestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(harnesses.splice(0).map((h) => h.server.close()));
});

async function startHarness(options: Partial<WorkerServerOptions> = {}, wire = true): Promise<Harness> {
  const workers: WorkerConnection[] = [];
  const messages = new Map<number, string[]>();
  const closes = new Map<number, string[]>();
  const server = await createWorkerServer({
    host: '127.0.0.1',
    port: 0,
    credentials: creds,
    onHello: (conn) => {
      workers.push(conn);
      messages.set(conn.id, []);
      closes.set(conn.id, []);
      if (!wire) return;
      conn.onMessage((text) => {
        messages.get(conn.id)!.push(text);
        conn.send(`got:${text}`);
      });
      conn.onClose((reason) => closes.get(conn.id)!.push(reason));
    },
    ...options,
  });
  const port = server.address().port;
  const harness: Harness = {
    server,
    port,
    workers,
    messages,
    closes,
    async client(extra = {}) {
      const c = await connectTlsClient({ port, ca: extra.ca ?? creds.caCert, cert: extra.cert, key: extra.key });
      clients.push(c);
      return c;
    },
    async worker(hello = 'OK:HELLO') {
      const before = workers.length;
      const client = await harness.client({ cert: creds.workerCert, key: creds.workerKey });
      client.send(hello);
      await vi.waitFor(() => expect(workers.length).toBeGreaterThan(before), WAIT);
      return { client, conn: workers[workers.length - 1]! };
    },
  };
  harnesses.push(harness);
  return harness;
}

describe('WorkerServer admission', () => {
  it('admits a worker that says OK:HELLO and carries frames both ways', async () => {
    const h = await startHarness();
    const { client, conn } = await h.worker();
    expect(conn.id).toBe(0);
    expect(conn.invocation).toBeUndefined();
    expect(conn.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    client.send('OK:ECHO(hi)');
    expect(await client.nextFrame()).toBe('got:OK:ECHO(hi)');
    conn.send('echo:é ünïcode');
    await vi.waitFor(() => expect(client.frames).toContain('echo:é ünïcode'), WAIT);
    expect(h.server.status()).toMatchObject({ state: 'listening', admitted: 1, open: 1, refused: 0 });
  });

  it('numbers workers in arrival order and reads the invocation from OK:HELLO:ID', async () => {
    const h = await startHarness();
    const a = await h.worker('OK:HELLO:7');
    const b = await h.worker('OK:HELLO:0');
    expect([a.conn.id, a.conn.invocation]).toEqual([0, 7]);
    expect([b.conn.id, b.conn.invocation]).toEqual([1, 0]);
  });

  it('delivers frames that arrive in the same packet as the hello, after onHello ran', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.sendRaw('000000000008 OK:HELLO000000000005 first000000000006 second');
    await vi.waitFor(() => expect(h.messages.get(0)).toEqual(['first', 'second']), WAIT);
  });

  it('keeps messages that arrive before the caller registers a listener', async () => {
    const h = await startHarness({}, false);
    const { client, conn } = await h.worker();
    client.send('early-1');
    client.send('early-2');
    client.send('sync');
    // The start of a frame behind them: once the server holds it, every frame before it is in.
    client.sendRaw('000000000010 abc');
    await vi.waitFor(() => expect(h.server.status().bufferedBytes).toBeGreaterThan(0), WAIT);
    const seen: string[] = [];
    conn.onMessage((text) => seen.push(text));
    expect(seen).toEqual(['early-1', 'early-2', 'sync']);
    client.socket.destroy();
    await client.closed;
    await vi.waitFor(() => expect(conn.open).toBe(false), WAIT);
    const reasons: string[] = [];
    conn.onClose((reason) => reasons.push(reason));
    expect(reasons).toHaveLength(1);
  });
});

describe('WorkerServer refusals (none reaches onHello)', () => {
  async function expectRefused(h: Harness, client: TlsTestClient | undefined, kind: 'tls' | 'hello' | 'timeout' | 'closed') {
    if (client) await client.closed;
    await vi.waitFor(() => expect(h.server.status().refusedBy[kind]).toBe(1), WAIT);
    expect(h.workers).toHaveLength(0);
    expect(h.server.status()).toMatchObject({ admitted: 0, open: 0, refused: 1 });
  }

  it('drops a client without a certificate', async () => {
    const h = await startHarness();
    const client = await h.client();
    client.send('OK:HELLO');
    await expectRefused(h, client, 'tls');
  });

  it('drops a client whose certificate another CA issued, logging why without secrets', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const h = await startHarness({ logger });
    const client = await h.client({ cert: foreign.workerCert, key: foreign.workerKey });
    client.send('OK:HELLO');
    await expectRefused(h, client, 'tls');
    const refusal = lines.map((line) => JSON.parse(line) as { msg: string; reason?: string }).find((entry) => entry.msg === 'client refused');
    expect(refusal?.reason).toMatch(/^client certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
    expect(lines.join('')).not.toMatch(/BEGIN|PRIVATE|CERTIFICATE-----/);
  });

  it('drops a client presenting the server certificate (not issued for client auth)', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.serverCert, key: creds.serverKey });
    client.send('OK:HELLO');
    await expectRefused(h, client, 'tls');
  });

  it('drops a client that speaks plain TCP garbage instead of TLS', async () => {
    const h = await startHarness();
    const socket = netConnect({ host: '127.0.0.1', port: h.port });
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.0\r\n\r\n');
    await new Promise((resolve) => socket.on('close', resolve));
    await expectRefused(h, undefined, 'tls');
  });

  it('drops a client that sends garbage instead of a frame', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.sendRaw('hello there, coordinator!');
    await expectRefused(h, client, 'hello');
  });

  it('drops a client whose first frame is not OK:HELLO', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.send('OK:ECHO(hi)');
    await expectRefused(h, client, 'hello');
  });

  it('drops a client whose first frame announces a huge payload, without waiting for it', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.sendRaw('000050000000 OK:HELLO');
    await expectRefused(h, client, 'hello');
  });

  it('drops a client that says OK:HELLO with a malformed id', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.send('OK:HELLO:x1');
    await expectRefused(h, client, 'hello');
  });

  it('drops a silent client after helloTimeoutMs', async () => {
    const h = await startHarness({ helloTimeoutMs: 300 });
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.sendRaw('0000000'); // half a header, then silence
    await expectRefused(h, client, 'timeout');
  });

  it('counts a client that hangs up before its hello', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    client.socket.end();
    await expectRefused(h, client, 'closed');
  });
});

/** A TCP connection that never starts TLS; `closed` resolves when the server hangs up. */
async function idleSocket(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('idle socket closed before connecting')));
  });
  return { socket, closed };
}

describe('WorkerServer bounds on unauthenticated and buffered data (issue 9)', () => {
  const idle: Socket[] = [];
  afterEach(() => {
    for (const socket of idle.splice(0)) socket.destroy();
  });

  // Regression: with a tlsClientError listener Node does not destroy a socket whose handshake timed
  // out, so idle TCP connections stayed open for ever and filled the coordinator's descriptors.
  it('closes a TCP connection that never starts TLS once the hello timeout has passed', async () => {
    const h = await startHarness({ helloTimeoutMs: 300 });
    const { socket, closed } = await idleSocket(h.port);
    idle.push(socket);
    await vi.waitFor(() => expect(h.server.status().handshaking).toBe(1), WAIT);
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`idle socket still open after ${WAIT.timeout} ms`)), WAIT.timeout))]);
    await vi.waitFor(() => expect(h.server.status()).toMatchObject({ pending: 0, handshaking: 0, refused: 1, refusedBy: { timeout: 1 } }), WAIT);
  });

  it('lets real workers in during a flood of idle connections, and closes the flood after the timeout', async () => {
    const flood = 300;
    const bound = 50;
    const h = await startHarness({ helloTimeoutMs: 4000, maxPendingHandshakes: bound });
    const sockets = await Promise.all(Array.from({ length: flood }, () => idleSocket(h.port)));
    idle.push(...sockets.map((s) => s.socket));
    // Every idle connection beyond the bound pushed the oldest out: never more than `bound` are held.
    await vi.waitFor(() => expect(h.server.status()).toMatchObject({ handshaking: bound, refusedBy: { full: flood - bound } }), WAIT);
    const workers = [];
    for (let i = 0; i < 5; i++) workers.push(await h.worker(`OK:HELLO:${i}`));
    expect(h.server.status()).toMatchObject({ admitted: 5, open: 5 });
    expect(h.server.status().handshaking).toBeLessThanOrEqual(bound);
    workers[4]!.client.send('still served');
    expect(await workers[4]!.client.nextFrame()).toBe('got:still served');
    // The rest of the flood is closed by the server when its time is up; the workers stay.
    await Promise.all(sockets.map((s) => s.closed));
    await vi.waitFor(() => expect(h.server.status()).toMatchObject({ handshaking: 0, pending: 0, open: 5, refused: flood }), WAIT);
    const { full, timeout } = h.server.status().refusedBy;
    expect(full + timeout).toBe(flood);
    expect(full).toBeGreaterThanOrEqual(flood - bound);
  });

  it('closes the connection whose partial frame takes all connections past maxBufferedBytes, and keeps the others', async () => {
    const h = await startHarness({ maxBufferedBytes: 1000, maxFrameBytes: 800 });
    const a = await h.worker();
    const b = await h.worker();
    a.client.sendRaw(`000000000700 ${'a'.repeat(600)}`);
    await vi.waitFor(() => expect(h.server.status().bufferedBytes).toBe(600), WAIT);
    b.client.sendRaw(`000000000700 ${'b'.repeat(500)}`);
    await b.client.closed;
    await vi.waitFor(
      () => expect(h.closes.get(b.conn.id)?.[0]).toMatch(/^coordinator receive buffers full: this worker's partial frame \(500 bytes\) took all connections past 1000 bytes$/),
      WAIT,
    );
    expect(h.server.status().bufferedBytes).toBe(600);
    a.client.sendRaw('a'.repeat(100));
    expect(await a.client.nextFrame()).toBe(`got:${'a'.repeat(700)}`);
    expect(h.server.status()).toMatchObject({ bufferedBytes: 0, open: 1 });
  });
});

describe('WorkerServer connection failures', () => {
  it('closes only the connection that sends a frame larger than an answer needs (1 MiB by default), with the reason', async () => {
    const h = await startHarness();
    const bad = await h.worker();
    const good = await h.worker();
    bad.client.sendRaw('000001048577 ');
    await bad.client.closed;
    await vi.waitFor(() => expect(h.closes.get(bad.conn.id)).toEqual(['protocol error: frame of 1048577 bytes exceeds the maximum of 1048576 bytes']), WAIT);
    good.client.send('still here');
    expect(await good.client.nextFrame()).toBe('got:still here');
    expect(h.server.status()).toMatchObject({ admitted: 2, open: 1 });
  });

  it('honours a configured maxFrameBytes', async () => {
    const h = await startHarness({ maxFrameBytes: 16 });
    const { client, conn } = await h.worker();
    client.send('0123456789abcdef');
    expect(await client.nextFrame()).toBe('got:0123456789abcdef');
    client.send('0123456789abcdefg');
    await client.closed;
    await vi.waitFor(() => expect(h.closes.get(conn.id)).toEqual(['protocol error: frame of 17 bytes exceeds the maximum of 16 bytes']), WAIT);
  });

  it('closes only the connection that sends a malformed header', async () => {
    const h = await startHarness();
    const bad = await h.worker();
    const good = await h.worker();
    bad.client.sendRaw('00000000000x OK:ECHO');
    await bad.client.closed;
    await vi.waitFor(() => expect(h.closes.get(bad.conn.id)?.[0]).toMatch(/^protocol error: malformed frame header "00000000000x "$/), WAIT);
    good.client.send('ping');
    expect(await good.client.nextFrame()).toBe('got:ping');
  });

  it('reports a worker that hangs up exactly once', async () => {
    const h = await startHarness();
    const { client, conn } = await h.worker();
    client.socket.end();
    await vi.waitFor(() => expect(h.closes.get(conn.id)).toEqual(['connection closed by worker']), WAIT);
    expect(conn.open).toBe(false);
    conn.send('echo:too late'); // ignored, must not throw
    conn.close();
    await h.server.close();
    expect(h.closes.get(conn.id)).toHaveLength(1);
  });

  it('reports a reset connection exactly once', async () => {
    const h = await startHarness();
    const { client, conn } = await h.worker();
    client.raw.resetAndDestroy();
    await vi.waitFor(() => expect(h.closes.get(conn.id)).toHaveLength(1), WAIT);
    expect(h.closes.get(conn.id)![0]).toMatch(/^connection (reset by worker|closed by worker)/);
    await h.server.close();
    expect(h.closes.get(conn.id)).toHaveLength(1);
  });

  it('names a worker that hangs up in the middle of a frame', async () => {
    const h = await startHarness();
    const { client, conn } = await h.worker();
    client.sendRaw('000000000010 abc');
    client.socket.end();
    await vi.waitFor(() => expect(h.closes.get(conn.id)).toEqual(['connection closed by worker in the middle of a frame (3 bytes unread)']), WAIT);
  });

  it('close() flushes what was sent, then hangs up', async () => {
    const h = await startHarness();
    const { client, conn } = await h.worker();
    conn.send('quit:');
    conn.close();
    await client.closed;
    expect(client.frames).toEqual(['quit:']);
    await vi.waitFor(() => expect(h.closes.get(conn.id)).toEqual(['closed by coordinator']), WAIT);
  });

  it('cuts a connection whose message listener throws, and keeps serving', async () => {
    const server = await createWorkerServer({
      host: '127.0.0.1',
      port: 0,
      credentials: creds,
      onHello: (conn) => {
        conn.onMessage((text) => {
          if (text === 'boom') throw new Error('listener bug');
          conn.send(`got:${text}`);
        });
      },
    });
    harnesses.push({ server } as Harness);
    const port = server.address().port;
    const a = await connectTlsClient({ port, ca: creds.caCert, cert: creds.workerCert, key: creds.workerKey });
    const b = await connectTlsClient({ port, ca: creds.caCert, cert: creds.workerCert, key: creds.workerKey });
    clients.push(a, b);
    a.send('OK:HELLO');
    b.send('OK:HELLO');
    a.send('boom');
    await a.closed;
    b.send('fine');
    expect(await b.nextFrame()).toBe('got:fine');
  });
});

describe('WorkerServer lifecycle', () => {
  it('stopAccepting refuses new connections while admitted ones carry on', async () => {
    const h = await startHarness();
    const { client, conn } = await h.worker();
    h.server.stopAccepting();
    expect(h.server.state).toBe('draining');
    const error = await new Promise<string>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port: h.port });
      socket.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
      socket.on('connect', () => resolve('connected'));
    });
    expect(error).toBe('ECONNREFUSED');
    client.send('after stop');
    expect(await client.nextFrame()).toBe('got:after stop');
    expect(h.server.address().port).toBe(h.port);
    await h.server.close();
    expect(h.server.state).toBe('closed');
    await client.closed;
    expect(h.closes.get(conn.id)).toEqual(['worker server closed']);
    expect(h.server.status()).toMatchObject({ state: 'closed', open: 0, pending: 0 });
  });

  it('close() also drops clients that have not said hello yet', async () => {
    const h = await startHarness();
    const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
    await vi.waitFor(() => expect(h.server.status().pending).toBe(1), WAIT);
    await h.server.close();
    await client.closed;
    expect(h.workers).toHaveLength(0);
  });

  it('admits a burst of 300 simultaneous workers', async () => {
    const h = await startHarness({ expectedWorkers: 300 });
    const burst = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const client = await h.client({ cert: creds.workerCert, key: creds.workerKey });
        client.send(`OK:HELLO:${i}`);
        return client;
      }),
    );
    await vi.waitFor(() => expect(h.workers).toHaveLength(300), WAIT);
    expect(new Set(h.workers.map((w) => w.id))).toEqual(new Set(Array.from({ length: 300 }, (_, i) => i)));
    expect(new Set(h.workers.map((w) => w.invocation))).toEqual(new Set(Array.from({ length: 300 }, (_, i) => i)));
    burst[299]!.send('last');
    expect(await burst[299]!.nextFrame()).toBe('got:last');
    expect(h.server.status()).toMatchObject({ admitted: 300, open: 300, refused: 0 });
  });

  it('rejects bad options and busy ports clearly', async () => {
    await expect(createWorkerServer({ credentials: { caCert: '', serverCert: '', serverKey: '' }, onHello: () => {} })).rejects.toThrow(ConfigError);
    await expect(createWorkerServer({ host: '127.0.0.1', port: 70000, credentials: creds, onHello: () => {} })).rejects.toThrow(/invalid port/);
    const h = await startHarness();
    await expect(createWorkerServer({ host: '127.0.0.1', port: h.port, credentials: creds, onHello: () => {} })).rejects.toThrow(/EADDRINUSE/);
  });
});

afterAll(() => {
  for (const c of clients) c.socket.destroy();
});
