/**
 * `--inspect` / `--inspect-record`: the inspection events of a real job (real coordinator, TLS,
 * worker processes) arrive on the inspector's WebSocket with the right actors, states and events,
 * the record file holds the same stream, and nothing live or secret is serialised.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { assign, createActor, fromCallback, setup } from 'xstate';
import { beforeEach, describe, expect, it } from 'vitest';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import { sanitizeInspected } from '../runtime/observe/inspectionSanitizer.js';
import { sampleChunks, startInspector } from '../runtime/observe/inspector.js';
import { LocalStore } from '../store/localStore.js';
import { seedClip } from '../cli/demo.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-inspect-');
});

type Event = { type: string; sessionId: string; name?: string; parentId?: string; event?: { type: string; [k: string]: unknown }; snapshot?: { status?: string; value?: unknown; context?: unknown } };

describe('sampleChunks', () => {
  it('takes every chunk when K covers them, else K spread evenly, as absolute chunk numbers', () => {
    expect(sampleChunks(3, 10, 8)).toEqual([10, 11, 12]);
    expect(sampleChunks(100, 0, 4)).toEqual([0, 25, 50, 75]);
    expect(sampleChunks(9, 5, 8)).toHaveLength(8);
    expect(new Set(sampleChunks(9, 5, 8)).size).toBe(8);
    expect(sampleChunks(10, 0, 0)).toEqual([]);
  });
});

/** A live object whose state must never be read by a serialiser. */
class Trap {
  get secret(): string {
    throw new Error('a serialiser walked a live object');
  }
}

describe('sanitizeInspected', () => {
  it('accepts undefined (sanitizeContext is called without a context) and plain values', () => {
    expect(sanitizeInspected(undefined)).toBeUndefined();
    expect(sanitizeInspected({ a: [1, 'x', null, true] })).toEqual({ a: [1, 'x', null, true] });
  });

  it('replaces live objects by markers without walking them, and bounds depth, width and length', () => {
    const socket = new Socket();
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const out = sanitizeInspected({
      socket,
      trap: new Trap(),
      buffer: Buffer.from('bytes'),
      map: new Map([[1, 2]]),
      error: new Error('boom'),
      fn: function handler() {},
      big: Array.from({ length: 60 }, (_, i) => i),
      long: 'x'.repeat(3000),
      circular,
    }) as Record<string, unknown>;
    expect(out.socket).toBe('[Socket]');
    expect(out.trap).toBe('[Trap]');
    expect(out.buffer).toBe('[Buffer]');
    expect(out.map).toBe('[Map]');
    expect(out.error).toBe('[Error: boom]');
    expect(out.fn).toBe('[function handler]');
    expect(out.big).toHaveLength(51);
    expect((out.big as unknown[])[50]).toBe('… 10 more');
    expect((out.long as string).length).toBeLessThan(2100);
    expect(JSON.stringify(out)).toContain('[…]'); // the cycle ends at the depth limit
    socket.destroy();
  });

  it('redacts credential fields and PEM text wherever they are', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----';
    const out = JSON.stringify(sanitizeInspected({ event: { wrkkey: 'k', cacert: 'c', nested: { note: pem }, list: [pem] }, password: 'p' }));
    expect(out).not.toContain('AAAA');
    expect(out).not.toMatch(/"k"|"c"|"p"/);
    expect(out).toContain('[redacted PEM]');
    expect(out).toContain('"wrkkey":"[redacted]"');
  });
});

describe('inspector on a custom machine', () => {
  it('records context, input and events of an actor holding a socket without serialising the socket', async () => {
    const record = join(dir, 'inspect.jsonl');
    const inspector = await startInspector({ parts: 1, offset: 0, recordFile: record });
    const machine = setup({
      types: { context: {} as { socket: Socket; trap: Trap; n: number }, input: {} as { socket: Socket; trap: Trap } },
      // A callback child has no context: the inspector's sanitizeContext gets undefined for it.
      actors: { child: fromCallback(() => undefined) },
      actions: { bump: assign({ n: ({ context }) => context.n + 1 }) },
    }).createMachine({
      id: 'holder',
      context: ({ input }) => ({ socket: input.socket, trap: input.trap, n: 0 }),
      invoke: { src: 'child' },
      initial: 'idle',
      states: { idle: { on: { go: { target: 'busy', actions: 'bump' } } }, busy: { type: 'final' } },
    });
    const socket = new Socket();
    const actor = createActor(machine, { input: { socket, trap: new Trap() }, inspect: inspector.inspection.supervisor! });
    actor.start();
    actor.send({ type: 'go' });
    await inspector.close();
    socket.destroy();
    const lines = (await readFile(record, 'utf8')).trim().split('\n');
    const events = lines.map((line) => JSON.parse(line) as Event);
    expect(events.filter((e) => e.type === '@xstate.actor').map((e) => e.name)).toEqual(['holder', '0.holder']);
    const snapshots = events.filter((e) => e.type === '@xstate.snapshot' && e.snapshot?.value !== undefined);
    expect(snapshots.map((e) => e.snapshot!.value)).toEqual(['idle', 'busy']);
    expect(snapshots[1]!.snapshot!.context).toEqual({ socket: '[Socket]', trap: '[Trap]', n: 1 });
    const init = events.find((e) => e.type === '@xstate.event' && e.event?.type === 'xstate.init' && e.name === undefined);
    expect(init?.event).toEqual({ type: 'xstate.init', input: { socket: '[Socket]', trap: '[Trap]' } });
    expect(inspector.sent()).toBe(lines.length);
  });
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('inspector server', () => {
  it('serves the bridge page on 127.0.0.1 and refuses other hosts and cross-site WebSockets', async () => {
    const inspector = await startInspector({ parts: 1, offset: 0, port: 0 });
    try {
      expect(inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await get(inspector.url!);
      expect(page.status).toBe(200);
      expect(page.body).toContain('src="https://stately.ai/inspect"');
      expect(page.body).toContain('@statelyai.connected');
      expect((await get(inspector.url!, { host: 'attacker.example' })).status).toBe(403);
      expect((await get(`${inspector.url}other`)).status).toBe(404);
      const refused = new WebSocket(inspector.webSocketUrl!, { origin: 'http://attacker.example' });
      const outcome = await new Promise<string>((resolve) => {
        refused.on('open', () => resolve('open'));
        refused.on('error', (error) => resolve(String(error.message)));
      });
      expect(outcome).toMatch(/403/);
    } finally {
      await inspector.close();
    }
  });
});

describe('--inspect on a real job', () => {
  it('streams the supervisor and the sampled worker machine, with their states and events, to a WebSocket client and the record file', async () => {
    const store = new LocalStore(join(dir, 'store'));
    await seedClip(store, 'clip', 6, { width: 32, height: 24 });
    const record = join(dir, 'inspect.jsonl');
    const options = {
      parts: 3,
      frames: 2,
      video: 'clip',
      bucket: store.name,
      port: 0,
      quiet: true,
      inspect: true,
      inspectSample: 1,
      inspectRecord: record,
    } as const;
    const received: string[] = [];
    let closed: Promise<void> | undefined;
    const summary = await runJob(png2y4m, options, {
      onStart: ({ inspectorWebSocketUrl }) => {
        const client = new WebSocket(inspectorWebSocketUrl!);
        client.on('message', (data) => received.push(String(data)));
        closed = new Promise((resolve) => client.on('close', () => resolve()));
      },
    });
    expect(summary.ok).toBe(true);
    await closed;
    const events = received.map((line) => JSON.parse(line) as Event);
    const actors = events.filter((e) => e.type === '@xstate.actor');
    const names = new Map(actors.map((e) => [e.sessionId, e.name]));
    expect(actors.map((e) => e.name).sort()).toEqual(['launcher', 'png2y4m', 'supervisor']);
    const supervisor = actors.find((e) => e.name === 'supervisor')!.sessionId;
    const worker = actors.find((e) => e.name === 'png2y4m')!.sessionId;
    expect(actors.find((e) => e.name === 'launcher')!.parentId).toBe(supervisor);

    const eventsTo = (id: string) => events.filter((e) => e.type === '@xstate.event' && e.sessionId === id).map((e) => e.event!.type);
    const supervisorEvents = eventsTo(supervisor);
    expect(supervisorEvents.filter((t) => t === 'launch.accepted')).toHaveLength(3);
    expect(supervisorEvents.filter((t) => t === 'worker.hello')).toHaveLength(3);
    expect(supervisorEvents.filter((t) => t === 'worker.finished')).toHaveLength(3);
    const answers = events.filter((e) => e.type === '@xstate.event' && e.sessionId === worker && e.event!.type === 'socket.message').map((e) => e.event!.text);
    expect(answers).toContain('OK:SET(cmdinfile)');
    expect(answers.filter((a) => String(a).startsWith('OK:RETVAL(0)'))).toHaveLength(2);

    const states = (id: string) => events.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === id).map((e) => e.snapshot!.value);
    const workerStates = states(worker).map((v) => JSON.stringify(v));
    expect(workerStates[0]).toBe('{"configure":"set_cmdinfile"}');
    expect(workerStates).toContain('{"retrieveLoop":{"frame":"run"}}');
    expect(workerStates).toContain('{"upload":"upload"}');
    expect(workerStates.at(-1)).toBe('"done"');
    expect(states(supervisor).at(-1)).toBe('over');
    expect(events.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === worker).at(-1)!.snapshot!.status).toBe('done');
    // Only the sampled worker (chunk 0) is inspected: its machine was given chunk 0.
    const context = events.find((e) => e.type === '@xstate.snapshot' && e.sessionId === worker)!.snapshot!.context as { vars: { chunk: number } };
    expect(context.vars.chunk).toBe(0);
    expect(names.size).toBe(3);

    // The record file holds the same stream (the client may have got registrations first).
    const recorded = (await readFile(record, 'utf8')).trim().split('\n');
    expect([...received].sort()).toEqual([...recorded].sort());
    expect(recorded.join('\n')).not.toMatch(/BEGIN [A-Z ]*KEY|BEGIN CERTIFICATE/);
  });
});
