/**
 * The worker's peer links (issue 14, worker side): connect:/close_connect: over real mutual TLS on
 * 127.0.0.1, STATE(n) frames received into the temp dir atomically, our state sent after a
 * background pass of the chain, mu's state placeholders, and byte-exact echo:/run: answers.
 */
import { existsSync, watch } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame } from '../protocol/frame.js';
import { stateFrame } from '../protocol/messages.js';
import { generateCredentials, type RunCredentials } from '../runtime/tls/certs.js';
import { createInterpreter } from '../worker/commands.js';
import { runWorker, type WorkerOptions } from '../worker/worker.js';
import { startPeerServer, type PeerServer } from './support/peerServer.js';
import { startScriptedCoordinator, type CoordinatorSession, type ScriptedCoordinator } from './support/scriptedCoordinator.js';
import { useTempDirs } from './support/tempDirs.js';
import { WAIT } from './support/wait.js';
import { workerEvent } from './support/workerEvent.js';

const tempDir = useTempDirs();
let creds: RunCredentials;
let otherCreds: RunCredentials;
let root: string;
let coordinator: ScriptedCoordinator | undefined;
let peer: PeerServer | undefined;

beforeAll(async () => {
  [creds, otherCreds] = await Promise.all([generateCredentials(), generateCredentials()]);
});

beforeEach(async () => {
  root = await tempDir('xc-test-peers-');
});

afterEach(async () => {
  await coordinator?.close();
  await peer?.close();
  coordinator = undefined;
  peer = undefined;
});

/** The run's peer end: the relay presents the coordinator's certificate from the run's CA. */
async function startPeer(credentials: { caCert: string; serverCert: string; serverKey: string } = creds): Promise<PeerServer> {
  peer = await startPeerServer(credentials);
  return peer;
}

async function startWorker(extra: Record<string, unknown> = {}, options: WorkerOptions = {}) {
  coordinator = await startScriptedCoordinator({ credentials: creds });
  const event = workerEvent(creds, coordinator.port, extra);
  const exit = runWorker(event, { tmpRoot: root, ...options });
  const session = await coordinator.nextSession();
  expect(await session.next()).toBe('OK:HELLO');
  const [pwd] = await session.play([{ send: 'run:pwd', expect: 'OK:RETVAL(0)' }]);
  const tmpDir = /OUTPUT\((.*)\n\)/.exec(pwd!)![1]!;
  return { exit, session, tmpDir };
}

async function quit(session: CoordinatorSession, exit: Promise<unknown>): Promise<void> {
  session.send('quit:');
  await exit;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('connect: and close_connect:', () => {
  it('opens a mutual-TLS link, sends FIRST on it, refuses a second, closes and reconnects', async () => {
    const relay = await startPeer();
    const { exit, session } = await startWorker();
    const target = `127.0.0.1:${relay.port}`;
    const got = await session.play([
      { send: `connect:${target}:HELLO_STATE:run:1:2` },
      { send: `connect:${target}:again`, expect: 'FAIL' },
      { send: 'close_connect:' },
      { send: 'close_connect:' },
      { send: `connect:${target}:` },
    ]);
    expect(got).toEqual([
      `OK:CONNECT(${target}:HELLO_STATE:run:1:2)`,
      'FAIL(already connected)',
      'OK:CLOSE_CONNECT',
      'OK:CLOSE_CONNECT',
      `OK:CONNECT(${target}:)`,
    ]);
    const first = await relay.nextConnection();
    expect(first.peerName).toBe('xc-orch-worker');
    expect((await first.nextFrame()).toString()).toBe('HELLO_STATE:run:1:2');
    await first.closed;
    const second = await relay.nextConnection();
    await quit(session, exit);
    await second.closed;
    expect(first.frames).toHaveLength(1);
    expect(second.frames).toHaveLength(0);
  });

  it('answers FAIL with the reason for bad arguments, refused and unverified links, and carries on', async () => {
    const wrongCa = await startPeerServer(otherCreds);
    // Right CA, but a worker's certificate: not for servers, not the coordinator's name.
    const notCoordinator = await startPeerServer({ caCert: creds.caCert, serverCert: creds.workerCert, serverKey: creds.workerKey });
    try {
      const { exit, session } = await startWorker();
      const refused = await closedPort();
      const got = await session.play(
        [
          'connect:',
          'connect:127.0.0.1',
          'connect::13337:x',
          'connect:127.0.0.1:http:x',
          'connect:127.0.0.1:70000:x',
          `connect:127.0.0.1:${refused}:x`,
          `connect:127.0.0.1:${wrongCa.port}:x`,
          `connect:127.0.0.1:${notCoordinator.port}:x`,
        ].map((send) => ({ send, expect: 'FAIL(' })),
      );
      expect(got.slice(0, 5)).toEqual([
        'FAIL(connect: expected HOST:PORT:FIRST)',
        'FAIL(connect: expected HOST:PORT:FIRST)',
        'FAIL(connect: expected HOST:PORT:FIRST)',
        "FAIL(connect: port must be an integer from 1 to 65535, got 'http')",
        "FAIL(connect: port must be an integer from 1 to 65535, got '70000')",
      ]);
      expect(got[5]).toMatch(new RegExp(`^FAIL\\(connect to 127\\.0\\.0\\.1:${refused}: .*ECONNREFUSED.*\\)$`));
      expect(got[6]).toMatch(new RegExp(`^FAIL\\(connect to 127\\.0\\.0\\.1:${wrongCa.port}: .*certificate.*\\)$`));
      expect(got[7]).toMatch(new RegExp(`^FAIL\\(connect to 127\\.0\\.0\\.1:${notCoordinator.port}: .*(certificate|xc-orch-coordinator).*\\)$`));
      expect(await session.play([{ send: 'echo:still here' }])).toEqual(['OK:ECHO(still here)']);
      expect(wrongCa.connections).toHaveLength(0);
      await quit(session, exit);
    } finally {
      await Promise.all([wrongCa.close(), notCoordinator.close()]);
    }
  });

  it('reports a link the peer dropped, and connects again afterwards', async () => {
    const relay = await startPeer();
    const { exit, session } = await startWorker();
    await session.play([{ send: `connect:127.0.0.1:${relay.port}:x` }]);
    (await relay.nextConnection()).destroy();
    expect(await session.next()).toMatch(new RegExp(`^INFO:peer:peer link to 127\\.0\\.0\\.1:${relay.port} lost: `));
    expect(await session.play([{ send: `connect:127.0.0.1:${relay.port}:y` }])).toEqual([`OK:CONNECT(127.0.0.1:${relay.port}:y)`]);
    await quit(session, exit);
  });
});

describe('states received on the link', () => {
  it('writes STATE(n) frames back to back into n.state atomically, and reports and drops anything else', async () => {
    const relay = await startPeer();
    const { exit, session, tmpDir } = await startWorker();
    await session.play([{ send: `connect:127.0.0.1:${relay.port}:` }]);
    const link = await relay.nextConnection();
    // Every change notification in the temp dir: a file written in place would show 'change' events.
    const events: string[] = [];
    const watcher = watch(tmpDir, (event, name) => events.push(`${event}:${name}`));
    try {
      const big = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      const small = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]);
      link.sendFrames(stateFrame(0, deflateSync(big)), 'hello', stateFrame(1, deflateSync(small)), Buffer.from('STATE(2):not zlib'));
      const infos = [await session.next(), await session.next()];
      expect(infos.sort()).toEqual(['INFO:peer:dropped STATE(2): state 2 is not zlib data: incorrect header check', 'INFO:peer:dropped a frame of 5 bytes that is not STATE(n):']);
      await vi.waitFor(() => expect(existsSync(join(tmpDir, '1.state'))).toBe(true), WAIT);
      expect((await readFile(join(tmpDir, '0.state'))).equals(big)).toBe(true);
      expect((await readFile(join(tmpDir, '1.state'))).equals(small)).toBe(true);
      expect(existsSync(join(tmpDir, '2.state'))).toBe(false);
      expect((await readdir(tmpDir)).filter((name) => name.endsWith('.part'))).toEqual([]);
      expect(events.filter((event) => /^change:[012]\.state$/.test(event))).toEqual([]);
    } finally {
      watcher.close();
    }
    expect(await session.play([{ send: 'echo:alive' }])).toEqual(['OK:ECHO(alive)']);
    await quit(session, exit);
  });

  it('##INSTATEWAIT## holds a background run until the state arrives, then the command reads it whole', async () => {
    const relay = await startPeer();
    const { exit, session, tmpDir } = await startWorker();
    await session.play([{ send: `connect:127.0.0.1:${relay.port}:` }]);
    const link = await relay.nextConnection();
    const [running] = await session.play([
      { send: 'seti:nonblock:1' },
      { send: 'seti:expect_statefile:1' },
      { send: 'seti:run_iter:1' },
      { send: 'run:##INSTATEWAIT##cat ##TMPDIR##/0.state', expect: 'OK:RUNNING' },
    ]).then((answers) => answers.slice(3));
    expect(running).toBe(`OK:RUNNING(echo hi | cat '${tmpDir}'/0.state)`);
    const state = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a]);
    link.sendFrames(stateFrame(0, deflateSync(state)));
    await session.next();
    const raw = session.rawFrames.at(-1)!;
    expect(raw.equals(Buffer.concat([Buffer.from('OK:RETVAL(0):OUTPUT('), state, Buffer.from(`):COMMAND(echo hi | cat '${tmpDir}'/0.state)`)]))).toBe(true);
    await quit(session, exit);
  });
});

describe('our state sent after a pass of the chain', () => {
  async function fakeTools(): Promise<string> {
    const bin = join(root, 'fake-bin');
    await mkdir(bin);
    // xc-dump's part in the chain: this worker's final state and encoder output, in the temp dir.
    await writeFile(join(bin, 'xc-dump'), "#!/bin/sh\nprintf 'fin\\377\\000al' > final.state\nprintf 'ivf\\377' > output.ivf\n");
    await writeFile(join(bin, 'xc-terminate-chunk'), '#!/bin/sh\nexit 0\n');
    await chmod(join(bin, 'xc-dump'), 0o755);
    await chmod(join(bin, 'xc-terminate-chunk'), 0o755);
    return bin;
  }

  it('after a nonblock xc-dump run: prev.ivf kept, {run_iter-2}.state removed, STATE(run_iter) sent when send_statefile', async () => {
    const relay = await startPeer();
    const bin = await fakeTools();
    const { exit, session, tmpDir } = await startWorker({}, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    await session.play([{ send: `connect:127.0.0.1:${relay.port}:` }]);
    const link = await relay.nextConnection();
    link.sendFrames(stateFrame(0, deflateSync(Buffer.from('zero'))));
    await vi.waitFor(() => expect(existsSync(join(tmpDir, '0.state'))).toBe(true), WAIT);

    // Foreground: mu's finished_run only follows background runs.
    await session.play([{ send: 'run:xc-dump', expect: 'OK:RETVAL(0)' }]);
    expect(existsSync(join(tmpDir, 'prev.ivf'))).toBe(false);
    // Background, send_statefile off: outputs kept, nothing sent.
    await session.play([
      { send: 'seti:nonblock:1' },
      { send: 'seti:run_iter:1' },
      { send: 'run:xc-dump', expect: 'OK:RUNNING' },
      { send: 'echo:wait', expect: 'OK:' },
    ]);
    expect(await session.next()).toMatch(/^OK:RETVAL\(0\)/);
    expect(await readFile(join(tmpDir, 'prev.ivf'), 'latin1')).toBe('ivf\xff');
    // Background, send_statefile on, run_iter 2: 0.state goes, STATE(2) goes to the peer.
    await rm(join(tmpDir, 'prev.ivf'));
    await session.play([
      { send: 'set:send_statefile:1' },
      { send: 'seti:run_iter:2' },
      { send: 'run:xc-dump', expect: 'OK:RUNNING' },
    ]);
    expect(await session.next()).toMatch(/^OK:RETVAL\(0\)/);
    expect(existsSync(join(tmpDir, '0.state'))).toBe(false);
    expect(existsSync(join(tmpDir, 'prev.ivf'))).toBe(true);
    const sent = await link.nextFrame();
    expect(sent.subarray(0, 9).toString()).toBe('STATE(2):');
    expect(inflateSync(sent.subarray(9)).toString('latin1')).toBe('fin\xff\x00al');
    expect(link.frames).toHaveLength(1);
    await quit(session, exit);
  });

  it('fails the run with the step that went wrong when there is no output.ivf to keep', async () => {
    const bin = await fakeTools();
    const { exit, session } = await startWorker({}, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    await session.play([{ send: 'seti:nonblock:1' }, { send: 'run:xc-terminate-chunk', expect: 'OK:RUNNING' }]);
    expect(await session.next()).toMatch(/^FAIL\(after xc-terminate-chunk: keeping output\.ivf as prev\.ivf: .*ENOENT.*\)$/);
    await quit(session, exit);
  });
});

describe("mu's state placeholders", () => {
  async function runAll(vals: Record<string, number>, commands: string[], stateWaitMs = 10_000): Promise<string[]> {
    const dir = await mkdtemp(join(root, 'interp-'));
    const answers: string[] = [];
    const interpreter = createInterpreter({ event: {}, tmpDir: dir, onAnswer: (text) => answers.push(text), stateWaitMs });
    for (const [key, value] of Object.entries(vals)) interpreter.handle(`seti:${key}:${value}`);
    await writeFile(join(dir, '0.state'), 'zero');
    for (const command of commands) interpreter.handle(command.replaceAll('DIR', dir));
    await interpreter.settled();
    await interpreter.close();
    return answers.slice(Object.keys(vals).length).map((answer) => answer.replaceAll(dir, 'DIR'));
  }

  it('are empty before the first pass or without expect_statefile', async () => {
    for (const vals of [{ run_iter: 0, expect_statefile: 1 }, { run_iter: 3, expect_statefile: 0 }]) {
      expect(await runAll(vals, ['run:echo "[##INSTATEWAIT##][##INSTATESWITCH##]"'])).toEqual(['OK:RETVAL(0):OUTPUT([][]\n):COMMAND(echo "[][]")']);
    }
  });

  it('name the input state and prev.ivf, and -S the state two back or 0.state with minimal_recode', async () => {
    const run = 'run:true ##INSTATESWITCH##';
    expect(await runAll({ run_iter: 1, expect_statefile: 1 }, [run])).toEqual(["OK:RETVAL(0):OUTPUT():COMMAND(true -r -I 'DIR'/0.state -p 'DIR'/prev.ivf)"]);
    expect(await runAll({ run_iter: 3, expect_statefile: 1 }, [run])).toEqual([
      "OK:RETVAL(0):OUTPUT():COMMAND(true -r -I 'DIR'/2.state -p 'DIR'/prev.ivf -S 'DIR'/1.state)",
    ]);
    expect(await runAll({ run_iter: 3, expect_statefile: 1, minimal_recode: 1 }, [run])).toEqual([
      "OK:RETVAL(0):OUTPUT():COMMAND(true -r -I 'DIR'/2.state -p 'DIR'/prev.ivf -S 'DIR'/0.state)",
    ]);
  });

  it('##INSTATEWAIT## feeds the command a line once the state is there, and gives up after the bound', async () => {
    expect(await runAll({ run_iter: 1, expect_statefile: 1 }, ['run:##INSTATEWAIT##cat'])).toEqual(['OK:RETVAL(0):OUTPUT(hi\n):COMMAND(echo hi | cat)']);
    expect(await runAll({ run_iter: 2, expect_statefile: 1 }, ['run:##INSTATEWAIT##cat'], 300)).toEqual(['FAIL(run: 1.state did not arrive within 0.3 s)']);
  });

  it('refuses a run_iter that is not an integer', async () => {
    const dir = await mkdtemp(join(root, 'interp-'));
    const answers: string[] = [];
    const interpreter = createInterpreter({ event: {}, tmpDir: dir, onAnswer: (text) => answers.push(text) });
    interpreter.handle('set:run_iter:two');
    interpreter.handle('run:true');
    await interpreter.settled();
    expect(answers).toEqual(['OK:SET(run_iter)', "FAIL(run: run_iter must be an integer, not 'two')"]);
  });
});

describe('bytes are bytes', () => {
  it('echo: and run: give back bytes that are not UTF-8 exactly', async () => {
    const { exit, session } = await startWorker();
    session.sendRaw(encodeFrame(Buffer.from([...Buffer.from('echo:'), 0xff, 0xfe])));
    await session.next();
    expect(session.rawFrames.at(-1)!.equals(Buffer.from([...Buffer.from('OK:ECHO('), 0xff, 0xfe, 0x29]))).toBe(true);
    await session.play([{ send: "run:printf '\\377\\376\\000\\303'", expect: 'OK:RETVAL(0)' }]);
    const expected = Buffer.concat([Buffer.from('OK:RETVAL(0):OUTPUT('), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from("):COMMAND(printf '\\377\\376\\000\\303')")]);
    expect(session.rawFrames.at(-1)!.equals(expected)).toBe(true);
    await quit(session, exit);
  });
});
