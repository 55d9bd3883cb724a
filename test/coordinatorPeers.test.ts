/**
 * The coordinator among bad peers, over real mutual TLS: a worker that sends a malformed frame, one
 * that announces an oversize frame, one that dies mid-job, and an impostor with another CA's
 * certificate — next to a real worker (the worker runtime, in process) that must finish its chunk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateCredentials } from '../runtime/tls/certs.js';
import { png2y4m } from '../jobs/png2y4m.js';
import { runJob } from '../runtime/coordinator/runJob.js';
import type { Launcher, LaunchRequest } from '../runtime/launch/launcher.js';
import { LocalStore } from '../store/localStore.js';
import { createLogger } from '../common/logger.js';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { runWorker } from '../worker/worker.js';
import { connectTlsClient, type TlsTestClient } from './support/tlsClient.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xc-peers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
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

it('fails only the misbehaving workers, with the reason, and never counts an impostor', async () => {
  const store = new LocalStore(join(dir, 'store'));
  // Every chunk's input is there (inputs are checked before launching); only chunk 3 gets a real worker.
  for (let frame = 1; frame <= 4; frame++) await store.put(`clip-png16/0000000${frame}.png`, syntheticFrame(frame - 1, 32, 24));
  const impostor = await generateCredentials();
  const peers: Promise<unknown>[] = [];
  const behaviours: Record<number, (request: LaunchRequest) => Promise<unknown>> = {
    0: (request) => rogue(request, async (c) => c.sendRaw('0000000000x7 garbage')),
    1: (request) => rogue(request, async (c) => c.sendRaw('999999999999 ')),
    2: (request) => rogue(request, async (c) => void c.socket.destroy()),
    3: (request) => runWorker(request.event, { tmpRoot: dir }),
  };
  const launcher: Launcher = {
    async launch(requests, report) {
      // Someone else's worker certificate: refused at the handshake, before any job state.
      const { event } = requests[0]!;
      peers.push(
        connectTlsClient({ port: event.port, ca: event.cacert, cert: impostor.workerCert, key: impostor.workerKey })
          .then((c) => (c.send('OK:HELLO:3'), c.closed))
          .catch(() => undefined),
      );
      for (const request of requests) {
        report({ type: 'accepted', invocation: request.invocation });
        peers.push(behaviours[request.invocation]!(request));
      }
    },
    async stop() {},
  };
  const summary = await runJob(png2y4m, { parts: 4, frames: 1, video: 'clip', bucket: store.name, port: 0, quiet: true, answerTimeoutS: 10 }, { launcher });
  await Promise.allSettled(peers);

  const byChunk = Object.fromEntries(summary.chunks.map((c) => [c.chunk, c]));
  expect(byChunk[0]).toMatchObject({ status: 'failed', invocation: 0 });
  expect(byChunk[0]!.reason).toMatch(/malformed frame header/);
  expect(byChunk[1]).toMatchObject({ status: 'failed', invocation: 1 });
  expect(byChunk[1]!.reason).toMatch(/exceeds the maximum of 67108864 bytes/);
  expect(byChunk[2]).toMatchObject({ status: 'failed', invocation: 2 });
  expect(byChunk[2]!.reason).toMatch(/closed|reset/);
  expect(byChunk[3]).toMatchObject({ status: 'done', invocation: 3 });
  expect(await store.exists('clip-y4m_01/00000003.y4m')).toBe(true);
  // Only the four real workers were ever bound to a chunk.
  expect(new Set(summary.chunks.map((c) => c.connection)).size).toBe(4);
  expect(JSON.stringify(summary)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
});
