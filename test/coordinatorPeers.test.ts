/**
 * The coordinator among bad peers, over real mutual TLS: a worker that sends a malformed frame, one
 * that announces an oversize frame, one that dies mid-job, one that answers FAIL, and an impostor
 * with another CA's certificate — next to a real worker (the worker runtime, in process) that must
 * finish its chunk.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeEach, expect, it } from 'vitest';
import { generateCredentials } from '../runtime/tls/certs.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import type { Launcher, LaunchRequest } from '../runtime/launch/launcher.js';
import { LocalStore } from '../store/localStore.js';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { runWorker } from '../worker/worker.js';
import { connectTlsClient, type TlsTestClient } from './support/tlsClient.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
let dir: string;
beforeEach(async () => {
  dir = await tempDir('xc-peers-');
});

type Behaviour = (client: TlsTestClient) => Promise<void>;

/** A peer with the run's worker certificate that says hello, waits for a command, then misbehaves. */
function rogue(request: LaunchRequest, misbehave: Behaviour): Promise<void> {
  const { event } = request;
  return connectTlsClient({ port: event.port, ca: event.cacert, cert: event.wrkcert, key: event.wrkkey }).then(async (client) => {
    client.send(`OK:HELLO:${request.invocation}`);
    await client.nextFrame(10_000);
    await misbehave(client);
  });
}

// Retries off: each misbehaviour is seen once, on the attempt it ruins.
it('fails only the misbehaving workers, with the reason, tells a failed one to quit, and never admits an impostor', async () => {
  const store = new LocalStore(join(dir, 'store'));
  // Every chunk's input is there (inputs are checked before launching); only chunk 3 gets a real worker.
  for (let frame = 1; frame <= 5; frame++) await store.put(`clip-png16/0000000${frame}.png`, syntheticFrame(frame - 1, 32, 24));
  const impostor = await generateCredentials();
  const peers: Promise<unknown>[] = [];
  let impostorFrames: string[] | undefined;
  let afterFail: string[] | undefined;
  const behaviours: Record<number, (request: LaunchRequest) => Promise<unknown>> = {
    0: (request) => rogue(request, async (c) => c.sendRaw('0000000000x7 garbage')),
    1: (request) => rogue(request, async (c) => c.sendRaw('999999999999 ')),
    2: (request) => rogue(request, async (c) => void c.socket.destroy()),
    3: (request) => runWorker(request.event, { tmpRoot: dir }),
    // Its chunk fails on this answer; the coordinator must still tell it to go (a worker left
    // running would wait for its idle timeout, on Lambda at the user's expense).
    4: (request) =>
      rogue(request, async (c) => {
        c.send('FAIL(refused on purpose)');
        await c.closed;
        afterFail = c.frames.slice(1);
      }),
  };
  const launcher: Launcher = {
    async launch(requests, report) {
      // Someone else's worker certificate: refused at the handshake, before any job state.
      const { event } = requests[0]!;
      peers.push(
        connectTlsClient({ port: event.port, ca: event.cacert, cert: impostor.workerCert, key: impostor.workerKey })
          .then(async (c) => {
            c.send('OK:HELLO:3');
            await c.closed;
            impostorFrames = c.frames;
          })
          .catch(() => (impostorFrames = [])),
      );
      for (const request of requests) {
        report({ type: 'accepted', invocation: request.invocation });
        peers.push(behaviours[request.invocation]!(request));
      }
    },
    async stop() {},
  };
  // The worker server logs each refusal at debug level: the refusal count is read from there.
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  const summary = await runJob(png2y4m, { parts: 5, frames: 1, video: 'clip', bucket: store.name, port: 0, quiet: true, answerTimeoutS: 10, retries: 0 }, { launcher, logger });
  await Promise.allSettled(peers);

  // The impostor was refused at the certificate check, once, and never heard a command.
  const refusals = lines.map((line) => JSON.parse(line) as { msg: string; reason?: string }).filter((entry) => entry.msg === 'client refused');
  expect(refusals.map((r) => r.reason)).toEqual([expect.stringMatching(/^client certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/)]);
  expect(impostorFrames).toEqual([]);
  // Only the five real workers were ever bound to a chunk.
  expect(new Set(summary.chunks.map((c) => c.connection)).size).toBe(5);

  const byChunk = Object.fromEntries(summary.chunks.map((c) => [c.chunk, c]));
  expect(byChunk[0]).toMatchObject({ status: 'failed', invocation: 0 });
  expect(byChunk[0]!.reason).toMatch(/malformed frame header/);
  expect(byChunk[1]).toMatchObject({ status: 'failed', invocation: 1 });
  expect(byChunk[1]!.reason).toMatch(/exceeds the maximum of 1048576 bytes/);
  expect(byChunk[2]).toMatchObject({ status: 'failed', invocation: 2 });
  expect(byChunk[2]!.reason).toMatch(/closed|reset/);
  expect(byChunk[3]).toMatchObject({ status: 'done', invocation: 3 });
  expect(await store.exists('clip-y4m_01/00000003.y4m')).toBe(true);
  expect(byChunk[4]).toMatchObject({ status: 'failed', invocation: 4 });
  expect(byChunk[4]!.reason).toMatch(/^unexpected answer "FAIL\(refused on purpose\)" in state configure\.set_cmdinfile/);
  expect(afterFail).toEqual(['quit:']);
  expect(JSON.stringify(summary)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  expect(lines.join('')).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
});
