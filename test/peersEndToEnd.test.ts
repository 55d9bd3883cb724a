/**
 * Jobs whose workers talk to each other, end to end: the chain job file (test/fixtures/jobs/chain.ts,
 * written against the public API) run by `xc-orch run` with local workers, each passing its state
 * to the next through the coordinator's own relay, or through a standalone one with -H/-T; a worker
 * that dies mid-chain; the relay's counts in the status, --json and the dashboard; bad -H/-T.
 */
import { connect, createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DefinitionError } from '../common/errors.js';
import { defineJob, type JobSpec } from '../jobs/defineJob.js';
import { loadJobFile } from '../jobs/loadJobFile.js';
import type { OptionTable } from '../common/optionTable.js';
import { compileRunOptions } from '../runtime/coordinator/runOptions.js';
import type { JobSummary } from '../runtime/coordinator/coordinator.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import { createLocalLauncher } from '../runtime/launch/localLauncher.js';
import type { DashboardSnapshot } from '../runtime/observe/dashboard.js';
import { summaryLine } from '../runtime/observe/statusDisplay.js';
import { startRelay } from '../runtime/relay/relayServer.js';
import { loadCredentials } from '../runtime/tls/credentials.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const CHAIN = join(__dirname, 'fixtures', 'jobs', 'chain.ts');
/** The chain's stand-in for ExCamera's xc-dump, first on the workers' PATH. */
const PATH = `${join(__dirname, 'fixtures', 'jobs', 'bin')}${delimiter}${process.env.PATH ?? ''}`;
/** Every CLI run is bounded: a hang is killed and fails the test with what it printed. */
const RUN_BOUND_MS = 25_000;

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-peers-e2e-');
});

const xc = (args: string[]) => runCli(args, { cwd: dir, env: { ...process.env, PATH }, timeoutMs: RUN_BOUND_MS });

const store = () => join(dir, 'store');
const chainRun = (links: number, ...more: string[]) => ['run', CHAIN, '-n', String(links), '-b', `file:${store()}`, '-t', '0', '--json', ...more];
/** What chunk c uploads: the line of every chunk before it, and its own. */
const chainState = (c: number) => Array.from({ length: c + 1 }, (_, i) => `chunk ${i}\n`).join('');
const stateOf = (c: number) => readFile(join(store(), 'chain', `${String(c).padStart(8, '0')}.state`), 'utf8');

describe('the chain job', () => {
  it('runs to the end with local workers, every state passed through the embedded relay, its counts in the status and --json', async () => {
    const { code, stdout, stderr } = await xc(chainRun(4));
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as JobSummary;
    expect(summary.chunks.map((c) => c.status)).toEqual(['done', 'done', 'done', 'done']);
    for (let c = 0; c < 4; c++) expect(await stateOf(c)).toBe(chainState(c));
    const relay = summary.relay!;
    expect(relay).toMatchObject({ host: '127.0.0.1', embedded: true });
    // Three states relayed (the last chunk passes nothing on), none left held for a partner.
    expect(relay.status).toMatchObject({ relayedFrames: 3, heldFrames: 0, tombstones: 0, refused: 0, refusedFrames: 0 });
    expect(stderr).toContain(`relay listening on 127.0.0.1:${relay.port}; workers dial 127.0.0.1:${relay.port}`);
    // The status line's last redraw (a plain line: stderr is not a terminal) carries the relay's counts.
    expect(stderr).toMatch(/\| relay: connections \d+ {2}pairs \d+ {2}waiting \d+ {2}tombstones 0 {2}held 0 \(0\.0 MB\) {2}relayed 3 /);
  });

  it('uses an external relay with -H/-T instead, and starts none of its own', async () => {
    const keys = join(dir, 'keys');
    expect((await xc(['genkeys', keys])).code).toBe(0);
    const tls = { caCert: join(keys, 'ca_cert.pem'), serverCert: join(keys, 'server_cert.pem'), serverKey: join(keys, 'server_key.pem') };
    const credentials = await loadCredentials(tls, {});
    const relay = await startRelay({ credentials, host: '127.0.0.1', port: 0 });
    try {
      const port = relay.address().port;
      const { code, stdout, stderr } = await xc(chainRun(3, '-c', tls.caCert, '-s', tls.serverCert, '-k', tls.serverKey, '-H', '127.0.0.1', '-T', String(port)));
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout) as JobSummary;
      for (let c = 0; c < 3; c++) expect(await stateOf(c)).toBe(chainState(c));
      expect(summary.relay).toEqual({ host: '127.0.0.1', port, embedded: false });
      expect(relay.status()).toMatchObject({ relayedFrames: 2, heldFrames: 0 });
      expect(stderr).toContain(`relay: workers dial 127.0.0.1:${port}`);
      expect(stderr).not.toContain('relay listening');
    } finally {
      await relay.close();
    }
  });

  it('fails the dependants of a worker that dies mid-chain, each naming the state that never came, within --state-wait', async () => {
    const { code, stdout, stderr } = await xc(chainRun(4, '--die-at', '1', '--state-wait', '0.5'));
    expect(code, stderr).toBe(1);
    const chunks = (JSON.parse(stdout) as JobSummary).chunks;
    expect(chunks.map((c) => c.status)).toEqual(['done', 'failed', 'failed', 'failed']);
    expect(await stateOf(0)).toBe(chainState(0));
    expect(chunks[2]!.reason).toContain('FAIL(run: 1.state did not arrive within 0.5 s)');
    expect(chunks[3]!.reason).toContain('FAIL(run: 2.state did not arrive within 0.5 s)');
    expect(stderr).toMatch(/chunk 2 \(connection \d+, invocation 2\) failed in pass\.xc_dump: .*1\.state did not arrive within 0\.5 s/);
  });
});

describe('from code', () => {
  it('gives the embedded relay to every chunk, and its counts to the status and the dashboard', async () => {
    const job = await loadJobFile(CHAIN);
    let snapshot: Promise<DashboardSnapshot> | undefined;
    let status: (() => string) | undefined;
    const summary = await runJob(
      job,
      { links: 3, bucket: `file:${store()}`, port: 0, quiet: true, dashboardPort: 0 },
      {
        launcher: createLocalLauncher({ env: { ...process.env, PATH } }),
        onStart: ({ coordinator, dashboardUrl }) => {
          snapshot = fetch(new URL('/api/status', dashboardUrl)).then((response) => response.json() as Promise<DashboardSnapshot>);
          status = () => summaryLine(coordinator.status());
        },
      },
    );
    expect(summary.ok, JSON.stringify(summary.chunks)).toBe(true);
    expect((await snapshot!).relay).toMatchObject({ state: 'listening', maxHeldBytes: 1024 ** 3 });
    // After the job the status keeps the closed relay's counts, as the summary does.
    expect(summary.relay?.status).toMatchObject({ relayedFrames: 2, heldFrames: 0 });
    expect(status!()).toContain('relayed 2 ');
    // The relay closed with the job: nothing listens on its port any more.
    const probe = connect(summary.relay!.port, '127.0.0.1');
    const outcome = await new Promise<string>((resolve) => {
      probe.once('connect', () => resolve('connected'));
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    probe.destroy();
    expect(outcome).toBe('ECONNREFUSED');
  });
});

describe('bad input', () => {
  it('refuses a job whose relay is not a boolean, and -H with -T 0', async () => {
    const notBoolean = { ...(await loadJobFile(CHAIN)), relay: 'yes' } as unknown as JobSpec<OptionTable, unknown>;
    expect(() => defineJob(notBoolean)).toThrow(DefinitionError);
    expect(() => defineJob(notBoolean)).toThrow('job chain: relay must be true or false, got "yes"');
    const tls = { caCert: 'ca.pem', serverCert: 'cert.pem', serverKey: 'key.pem' };
    expect(() => compileRunOptions({ ...tls, relayHost: 'relay.example', relayPort: 0 }, {})).toThrow("-T 0 (any free port) is for the coordinator's own relay");
    expect(compileRunOptions({ ...tls, relayHost: 'relay.example' }, {}).relay).toEqual({ kind: 'external', host: 'relay.example', port: 13337 });
  });

  it('refuses -H/-T for a job without peer links, -H without the run\'s certificates, and a relay port in use, each with one line', async () => {
    const noPeers = await xc(['run', 'png2y4m', '-b', `file:${store()}`, '-T', '4000']);
    expect(noPeers.code).toBe(2);
    expect(noPeers.stderr).toContain('job png2y4m has no peer links: -H/-T (the relay) are for jobs whose workers talk to each other');

    const noCa = await xc(chainRun(2, '-H', '127.0.0.1'));
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toContain('-H (an external relay) needs -c, -s and -k');

    const busy: Server = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const port = (busy.address() as { port: number }).port;
      const inUse = await xc(chainRun(2, '-T', String(port)));
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toContain(`the relay's port ${port} is already in use (127.0.0.1:${port}): choose another with -T PORT`);
    } finally {
      busy.close();
    }
  });
});
