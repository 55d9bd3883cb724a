import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as rendezvous } from '../cli/rendezvous.js';
import { ConfigError } from '../common/errors.js';
import { encodeFrame, FrameDecoder } from '../protocol/frame.js';
import { MAX_RELAY_HELLO_BYTES, parseRelayHello } from '../runtime/relay/relayHello.js';
import { startRelay, type Relay } from '../runtime/relay/relayServer.js';
import type { RelayOptions } from '../runtime/relay/relayOptions.js';
import { COORDINATOR_NAME, generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { CREDENTIAL_ENV, CREDENTIAL_FILES } from '../runtime/tls/credentials.js';
import { captureOutput, type CapturedRun } from './support/captureOutput.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';

let creds: RunCredentials;
let foreign: RunCredentials;

beforeAll(async () => {
  [creds, foreign] = await Promise.all([generateCredentials(), generateCredentials()]);
});

/** A worker's end of a relay link: sends frames, keeps what it receives as bytes. */
interface LinkClient {
  socket: tls.TLSSocket;
  frames: Buffer[];
  texts(): string[];
  send(payload: string | Buffer): boolean;
  closed: Promise<void>;
}

const relays: Relay[] = [];
const clients: LinkClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

async function relayWith(options: Partial<RelayOptions> = {}): Promise<Relay> {
  const relay = await startRelay({ credentials: creds, host: '127.0.0.1', port: 0, ...options });
  relays.push(relay);
  return relay;
}

function link(relay: Pick<Relay, 'address'>, identity: { cert?: string; key?: string } = { cert: creds.workerCert, key: creds.workerKey }): Promise<LinkClient> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: relay.address().port, ca: creds.caCert, servername: COORDINATOR_NAME, ...identity });
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    socket.on('error', reject);
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.once('secureConnect', () => {
      const client: LinkClient = {
        socket,
        frames,
        texts: () => frames.map((frame) => frame.toString('latin1')),
        send: (payload) => socket.write(encodeFrame(payload)),
        closed,
      };
      clients.push(client);
      resolve(client);
    });
  });
}

/** Connect and say hello; resolves once the relay has counted the hello. */
async function peer(relay: Relay, run: string, me: string, partner: string): Promise<LinkClient> {
  const before = relay.status();
  const client = await link(relay);
  client.send(`HELLO_STATE:${run}:${me}:${partner}`);
  await vi.waitFor(() => expect(relay.status().pairs + relay.status().waiting).toBeGreaterThan(before.pairs + before.waiting), WAIT);
  return client;
}

async function quit(relay: Relay, client: LinkClient): Promise<void> {
  const before = relay.status().pairs + relay.status().waiting;
  client.socket.end();
  await client.closed;
  await vi.waitFor(() => expect(relay.status().pairs + relay.status().waiting).toBe(before - 1), WAIT);
}

describe('parseRelayHello', () => {
  it('names RUN_int(ME) and RUN_int(PARTNER)', () => {
    expect(parseRelayHello('HELLO_STATE:7:00000002:3')).toEqual({ id: '7_2', partnerId: '7_3' });
    expect(parseRelayHello('HELLO_STATE:run-a:0:000')).toBe('hello names run-a_0 as its own partner');
  });

  it.each(['HELLO_STATE:7:x:3', 'HELLO_STATE:7:2', 'HELLO_STATE::2:3', 'HELLO_STATE:7:-2:3', 'HELLO_STATE:7:2:3:4', 'HELLO_STATE:a b:2:3', 'STATE(1):xyz'])(
    'refuses %j with a reason',
    (text) => {
      expect(parseRelayHello(text)).toMatch(/^expected HELLO_STATE:RUN:ME:PARTNER/);
    },
  );
});

describe('relay: pairing and order', () => {
  it('relays frames to a partner that connected first, in order, never back to the sender', async () => {
    const relay = await relayWith();
    const b = await peer(relay, '7', '2', '9');
    const a = await peer(relay, '7', '1', '00000002');
    for (const text of ['STATE(1):one', 'STATE(2):two', 'STATE(3):three']) a.send(text);
    await vi.waitFor(() => expect(b.texts()).toEqual(['STATE(1):one', 'STATE(2):two', 'STATE(3):three']), WAIT);
    expect(a.frames).toEqual([]);
    expect(relay.status()).toMatchObject({ state: 'listening', connections: 2, pairs: 1, waiting: 1, heldFrames: 0, relayedFrames: 3 });
  });

  it('relays the frames that arrive in the same write as the hello, unchanged, whatever the hello bound', async () => {
    const relay = await relayWith();
    const b = await peer(relay, 'w', '2', '1');
    const a = await link(relay);
    // Above the hello's bound: only the connection's own decoder may read this frame's header.
    const large = randomBytes(4 * MAX_RELAY_HELLO_BYTES);
    const split = encodeFrame('STATE(3):its end comes in the next write');
    a.socket.write(Buffer.concat([encodeFrame('HELLO_STATE:w:1:2'), encodeFrame('STATE(1):with the hello'), encodeFrame(large), split.subarray(0, 20)]));
    await vi.waitFor(() => expect(b.frames.length).toBe(2), WAIT);
    a.socket.write(split.subarray(20));
    await vi.waitFor(() => expect(b.frames.length).toBe(3), WAIT);
    expect(b.frames).toEqual([Buffer.from('STATE(1):with the hello'), large, Buffer.from('STATE(3):its end comes in the next write')]);
    expect(relay.status()).toMatchObject({ pairs: 2, waiting: 0, relayedFrames: 3, refused: 0 });
  });

  it('holds frames for a partner that connects later, then delivers them before later ones', async () => {
    const relay = await relayWith();
    const a = await peer(relay, 'r', '1', '2');
    a.send('early-1');
    a.send(Buffer.from([0xff, 0xfe, 0x00]));
    await vi.waitFor(() => expect(relay.status()).toMatchObject({ heldFrames: 2, waiting: 1, pairs: 0 }), WAIT);
    const b = await peer(relay, 'r', '2', '1');
    a.send('late');
    await vi.waitFor(() => expect(b.frames.length).toBe(3), WAIT);
    expect(b.frames).toEqual([Buffer.from('early-1'), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('late')]);
    expect(relay.status()).toMatchObject({ pairs: 2, waiting: 0, heldFrames: 0, heldBytes: 0 });
    b.send('back');
    await vi.waitFor(() => expect(a.texts()).toEqual(['back']), WAIT);
  });

  it('keeps runs apart: the same numbers in another run are other workers', async () => {
    const relay = await relayWith();
    const other = await peer(relay, 'B', '2', '1');
    const mine = await peer(relay, 'A', '2', '1');
    const sender = await peer(relay, 'A', '1', '2');
    sender.send('for A_2');
    await vi.waitFor(() => expect(mine.texts()).toEqual(['for A_2']), WAIT);
    expect(other.frames).toEqual([]);
  });

  it('relays a 16 MiB state frame intact', async () => {
    const relay = await relayWith();
    const b = await peer(relay, '1', '4', '3');
    const a = await peer(relay, '1', '3', '4');
    const state = Buffer.concat([Buffer.from('STATE(3):'), randomBytes(16 * 1024 * 1024)]);
    a.send(state);
    await vi.waitFor(() => expect(b.frames.length).toBe(1), WAIT);
    expect(b.frames[0]!.equals(state)).toBe(true);
  });

  it('does not let a slow partner make the relay buffer without bound', async () => {
    const relay = await relayWith();
    const b = await peer(relay, 's', '2', '1');
    const a = await peer(relay, 's', '1', '2');
    b.socket.pause();
    const frames = Array.from({ length: 48 }, (_, i) => Buffer.alloc(1024 * 1024, i));
    for (const frame of frames) a.send(frame);
    // The relay stops reading from the sender while the partner does not read.
    await vi.waitFor(() => expect(relay.status().throttled).toBe(1), WAIT);
    b.socket.resume();
    await vi.waitFor(() => expect(b.frames.length).toBe(48), { timeout: 30_000 });
    expect(b.frames.every((frame, i) => frame.equals(frames[i]!))).toBe(true);
    expect(relay.status().throttled).toBe(0);
    // One socket's high-water mark and the frame being read are all it keeps for the partner.
    expect(relay.status().peakBufferedBytes).toBeLessThan(4 * 1024 * 1024);
  });

  it('relays 1,000 pairs in one process', { timeout: 120_000 }, async () => {
    const relay = await relayWith();
    const pairs = 1000;
    const received: Buffer[][] = [];
    const batch = 50;
    for (let start = 0; start < pairs; start += batch) {
      await Promise.all(
        Array.from({ length: Math.min(batch, pairs - start) }, async (_, k) => {
          const i = start + k;
          const [receiver, sender] = await Promise.all([link(relay), link(relay)]);
          receiver.send(`HELLO_STATE:big:${2 * i + 1}:${2 * i}`);
          sender.send(`HELLO_STATE:big:${2 * i}:${2 * i + 1}`);
          sender.send(`STATE(${i}):${'x'.repeat(i % 97)}`);
          received[i] = receiver.frames;
        }),
      );
    }
    await vi.waitFor(() => expect(relay.status().relayedFrames).toBe(pairs), { timeout: 60_000 });
    await vi.waitFor(() => expect(received.filter((frames) => frames.length === 1).length).toBe(pairs), { timeout: 60_000 });
    received.forEach((frames, i) => expect(frames[0]!.toString()).toBe(`STATE(${i}):${'x'.repeat(i % 97)}`));
    expect(relay.status()).toMatchObject({ connections: 2 * pairs, pairs: 2 * pairs, waiting: 0, heldFrames: 0, refused: 0 });
  });
});

describe('relay: tombstones', () => {
  it('delivers what a sender sent before it quit, when the partner comes', async () => {
    const relay = await relayWith();
    const a = await peer(relay, '5', '1', '2');
    a.send('STATE(1):kept');
    a.send('STATE(2):kept too');
    await vi.waitFor(() => expect(relay.status().heldFrames).toBe(2), WAIT);
    await quit(relay, a);
    expect(relay.status()).toMatchObject({ tombstones: 1, heldFrames: 2, waiting: 0 });
    const b = await peer(relay, '5', '2', '1');
    await vi.waitFor(() => expect(b.texts()).toEqual(['STATE(1):kept', 'STATE(2):kept too']), WAIT);
    expect(relay.status()).toMatchObject({ tombstones: 0, heldFrames: 0, heldBytes: 0 });
  });

  it('drops a tombstone after the timeout, and says so', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const relay = await relayWith({ tombstoneTimeoutMs: 300, logger });
    const a = await peer(relay, '5', '1', '2');
    a.send('STATE(1):stale');
    await vi.waitFor(() => expect(relay.status().heldFrames).toBe(1), WAIT);
    await quit(relay, a);
    await vi.waitFor(() => expect(relay.status()).toMatchObject({ tombstones: 0, heldFrames: 0, heldBytes: 0, expiredFrames: 1 }), WAIT);
    expect(lines.join('')).toMatch(/dropped 1 frames from 5_1: 5_2 did not connect within 0.3 s/);
    const b = await peer(relay, '5', '2', '1');
    const again = await peer(relay, '5', '1', '2');
    again.send('STATE(2):fresh');
    await vi.waitFor(() => expect(b.texts()).toEqual(['STATE(2):fresh']), WAIT);
  });

  it('keeps a returning sender\'s held frames ahead of its new ones, and no longer a tombstone', async () => {
    const relay = await relayWith({ tombstoneTimeoutMs: 300 });
    const a = await peer(relay, '5', '1', '2');
    a.send('first');
    await vi.waitFor(() => expect(relay.status().heldFrames).toBe(1), WAIT);
    await quit(relay, a);
    const back = await peer(relay, '5', '1', '2');
    expect(relay.status().tombstones).toBe(0);
    back.send('second');
    await vi.waitFor(() => expect(relay.status().heldFrames).toBe(2), WAIT);
    // Held past the timeout: a tombstone left after that, with the same timeout, expires, so the
    // sender's older one would have expired first. The sender is connected again: its frames stay.
    const later = await peer(relay, '6', '1', '2');
    later.send('STATE(1):expires');
    await vi.waitFor(() => expect(relay.status().heldFrames).toBe(3), WAIT);
    await quit(relay, later);
    await vi.waitFor(() => expect(relay.status()).toMatchObject({ expiredFrames: 1, heldFrames: 2 }), WAIT);
    const b = await peer(relay, '5', '2', '1');
    await vi.waitFor(() => expect(b.texts()).toEqual(['first', 'second']), WAIT);
    expect(relay.status().expiredFrames).toBe(1);
  });

  it('refuses a frame past maxHeldBytes with a reason, closes that sender, and keeps what it held', async () => {
    const relay = await relayWith({ maxHeldBytes: 1000, logger: pino({ level: 'silent' }) });
    const a = await peer(relay, '9', '1', '2');
    a.send('a'.repeat(600));
    a.send('b'.repeat(600));
    await a.closed;
    expect(a.texts()).toEqual([
      expect.stringMatching(/^FAIL\(relay refused a frame of 600 bytes from 9_1 for 9_2: 613 bytes are held for partners not connected, at most 1000\)$/),
    ]);
    await vi.waitFor(() => expect(relay.status()).toMatchObject({ refusedFrames: 1, heldFrames: 1, tombstones: 1 }), WAIT);
    const b = await peer(relay, '9', '2', '1');
    await vi.waitFor(() => expect(b.texts()).toEqual(['a'.repeat(600)]), WAIT);
  });
});

describe('relay: refusals', () => {
  it('refuses a second connection claiming a connected id; the first keeps working', async () => {
    const relay = await relayWith();
    const first = await peer(relay, '3', '1', '2');
    const b = await peer(relay, '3', '2', '1');
    const impostor = await link(relay);
    impostor.send('HELLO_STATE:3:001:2');
    impostor.send('STATE(1):from the impostor');
    await impostor.closed;
    expect(impostor.texts()).toEqual(['FAIL(3_1 is already connected)']);
    first.send('STATE(1):from the first');
    await vi.waitFor(() => expect(b.texts()).toEqual(['STATE(1):from the first']), WAIT);
    expect(relay.status()).toMatchObject({ pairs: 2, refused: 1, refusedBy: { duplicate: 1 } });
  });

  it('drops a connection with a malformed first frame, and only that one', async () => {
    const relay = await relayWith();
    const b = await peer(relay, '4', '2', '1');
    const a = await peer(relay, '4', '1', '2');
    const bad = await Promise.all([link(relay), link(relay), link(relay), link(relay)]);
    bad[0]!.send('HELLO_STATE:4:x:2');
    bad[1]!.send('HELLO_STATE:4:3:3');
    bad[2]!.socket.write('not a frame at all, relay');
    bad[3]!.socket.write('000050000000 HELLO_STATE:4:3:1');
    await Promise.all(bad.map((client) => client.closed));
    expect(bad[0]!.texts()).toEqual([expect.stringMatching(/^FAIL\(expected HELLO_STATE:RUN:ME:PARTNER/)]);
    expect(bad[1]!.texts()).toEqual(['FAIL(hello names 4_3 as its own partner)']);
    expect(bad[2]!.texts()).toEqual([expect.stringMatching(/^FAIL\(bad first frame: malformed frame header/)]);
    expect(bad[3]!.texts()).toEqual([expect.stringMatching(/^FAIL\(bad first frame: frame of 50000000 bytes exceeds the maximum of 256 bytes\)/)]);
    a.send('still here');
    await vi.waitFor(() => expect(b.texts()).toEqual(['still here']), WAIT);
    expect(relay.status()).toMatchObject({ pairs: 2, refused: 4, refusedBy: { hello: 4 } });
  });

  it('drops a client without a certificate, with one another CA issued, or with one not for client use', async () => {
    const relay = await relayWith();
    const anonymous = await link(relay, {}).catch(() => undefined);
    const stranger = await link(relay, { cert: foreign.workerCert, key: foreign.workerKey }).catch(() => undefined);
    const server = await link(relay, { cert: creds.serverCert, key: creds.serverKey }).catch(() => undefined);
    for (const client of [anonymous, stranger, server]) {
      client?.send('HELLO_STATE:1:1:2');
      await client?.closed;
    }
    await vi.waitFor(() => expect(relay.status().refusedBy.tls).toBe(3), WAIT);
    expect(relay.status()).toMatchObject({ pairs: 0, waiting: 0, refused: 3 });
  });

  it('drops a connection that says nothing within the hello timeout', async () => {
    const relay = await relayWith({ helloTimeoutMs: 300 });
    const silent = await link(relay);
    await silent.closed;
    expect(silent.texts()).toEqual(['FAIL(no HELLO_STATE within 300 ms)']);
    await vi.waitFor(() => expect(relay.status()).toMatchObject({ refused: 1, refusedBy: { timeout: 1 }, connections: 0 }), WAIT);
  });

  // As the worker server: with a tlsClientError listener Node leaves a timed-out handshake's socket open.
  it('closes a TCP connection that never starts TLS once the hello timeout has passed', async () => {
    const relay = await relayWith({ helloTimeoutMs: 300 });
    const socket = netConnect({ host: '127.0.0.1', port: relay.address().port });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    try {
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('idle socket still open after 5 s')), 5000))]);
    } finally {
      socket.destroy();
    }
    await vi.waitFor(() => expect(relay.status()).toMatchObject({ connections: 0, refused: 1, refusedBy: { timeout: 1 } }), WAIT);
  });

  it('rejects bad options with a ConfigError', async () => {
    await expect(startRelay({ credentials: creds, port: 70_000 })).rejects.toThrow(ConfigError);
    await expect(startRelay({ credentials: creds, port: 0, tombstoneTimeoutMs: 0 })).rejects.toThrow(/tombstoneTimeoutMs must be a positive number/);
    await expect(startRelay({ credentials: { caCert: creds.caCert, serverCert: '', serverKey: '' }, port: 0 })).rejects.toThrow(/needs the CA certificate/);
  });
});

describe('relay: lifecycle', () => {
  it('closes: stops listening, drops connections and held frames', async () => {
    const relay = await startRelay({ credentials: creds, host: '127.0.0.1', port: 0 });
    const a = await peer(relay, '1', '1', '2');
    a.send('held');
    await vi.waitFor(() => expect(relay.status().heldFrames).toBe(1), WAIT);
    await relay.close();
    await a.closed;
    expect(relay.state).toBe('closed');
    expect(relay.status()).toMatchObject({ state: 'closed', connections: 0, heldFrames: 0, heldBytes: 0, pairs: 0, waiting: 0 });
  });
});

describe('xc-orch rendezvous', () => {
  const CLI = fileURLToPath(new URL('../bin/xc-orch.js', import.meta.url));
  // File scope: the key folder is made once for the block; a test's own folders go with it.
  const tempDir = useTempDirs('file');
  let keys: string;

  beforeAll(async () => {
    keys = await tempDir('xc-relay-keys-');
    for (const [role, name] of Object.entries(CREDENTIAL_FILES) as Array<[keyof typeof CREDENTIAL_FILES, string]>) {
      await writeFile(join(keys, name), creds[role], { mode: 0o600 });
    }
  });

  /** The CLI as a child process, with stderr collected; `exit` resolves with its exit code. */
  function start(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [CLI, 'rendezvous', ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exit, stdout: () => stdout, stderr: () => stderr };
  }

  /**
   * The command run in this process, for cases that end before a relay listens: the same exit code
   * and output as the child process's, without starting node for each. The child process itself
   * is checked by the cases that listen below (and by cliHelp.test.ts).
   */
  async function inProcess(args: string[]): Promise<CapturedRun> {
    for (const name of Object.values(CREDENTIAL_ENV)) vi.stubEnv(name, undefined);
    try {
      return await captureOutput(() => rendezvous(args));
    } finally {
      vi.unstubAllEnvs();
    }
  }
  const keyArgs = () => ['-c', join(keys, CREDENTIAL_FILES.caCert), '-s', join(keys, CREDENTIAL_FILES.serverCert), '-k', join(keys, CREDENTIAL_FILES.serverKey)];

  it('explains itself with --help', async () => {
    const cli = await inProcess(['--help']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/HELLO_STATE:RUN:ME:PARTNER/);
    expect(cli.stdout).toMatch(/xc-orch genkeys DIR/);
    expect(cli.stdout).toMatch(/--tombstone-timeout S .*\[600\]/);
  });

  it('says which certificates it needs when given none, and exits 2', async () => {
    const cli = await inProcess([]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^xc-orch rendezvous: needs the run's CA and a certificate: -c CA -s CERT -k KEY .*genkeys DIR/);
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['-t', 'abc'], /--port expects a whole number, got "abc"/],
    [['--tombstone-timeout', '0'], /--tombstone-timeout must be a number of seconds above 0 .*: --tombstone-timeout S: seconds frames wait/],
    [['-t', '70000'], /--port must be a whole number from 0 to 65535, got 70000: -t, --port N: TLS port to listen on/],
  ])('exits 2 on bad options %j', async (args, message) => {
    const cli = await inProcess([...keyArgs(), ...args]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(message);
  });

  it('exits 2 when the certificates are incomplete or do not belong together', async () => {
    const incomplete = await inProcess(['-c', join(keys, CREDENTIAL_FILES.caCert)]);
    expect(incomplete.code).toBe(2);
    expect(incomplete.stderr).toMatch(/TLS credentials are incomplete: missing -s .* and -k/);
    const strangers = await tempDir('xc-relay-foreign-');
    await writeFile(join(strangers, 'ca.pem'), foreign.caCert);
    const mismatched = await inProcess([...keyArgs().slice(2), '-c', join(strangers, 'ca.pem')]);
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toMatch(/server certificate '.*' \(-s\) was not issued by CA certificate/);
  });

  it('exits 1 when its port is taken', async () => {
    const taken = await relayWith();
    const cli = start(['-t', String(taken.address().port), '--host', '127.0.0.1', ...keyArgs()]);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toBe(`xc-orch rendezvous: the relay cannot listen on 127.0.0.1:${taken.address().port} (EADDRINUSE)\n`);
  });

  it('relays between workers with the genkeys files, shows its status, and closes on Ctrl-C', { timeout: 30_000 }, async () => {
    const cli = start(['-t', '0', '--host', '127.0.0.1', ...keyArgs()]);
    await vi.waitFor(() => expect(cli.stderr()).toMatch(/listening on 127\.0\.0\.1:\d+/), WAIT);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(cli.stderr())![1]);
    const remote = { address: () => ({ host: '127.0.0.1', port }) };
    const b = await link(remote);
    b.send('HELLO_STATE:cli:2:1');
    const a = await link(remote);
    a.send('HELLO_STATE:cli:1:2');
    a.send('STATE(1):through the standalone relay');
    await vi.waitFor(() => expect(b.texts()).toEqual(['STATE(1):through the standalone relay']), WAIT);
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(0);
    await Promise.all([a.closed, b.closed]);
    expect(cli.stderr()).toMatch(/rendezvous: closed; \[\d+s\] connections 0 {2}pairs 0 {2}waiting 0 {2}tombstones 0 {2}held 0 \(0\.0 MB\) {2}relayed 1 \(0\.0 MB\) {2}refused 0\n$/);
    expect(cli.stderr()).not.toMatch(/BEGIN|PRIVATE/);
  });
});
