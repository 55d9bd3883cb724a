/**
 * The worker event a launcher writes for a worker that dials back over mutual TLS to a coordinator
 * on 127.0.0.1, built from a run's generated credentials, so tests state only the fields they vary.
 */
import type { RunCredentials } from '../../runtime/tls/certs.js';
import type { WorkerEvent } from '../../worker/event.js';
import { parseEvent } from '../../worker/parseEvent.js';

/**
 * The event as JSON fields (what `xc-orch worker --event` reads); `extra` adds or replaces fields.
 *
 * @example spawn(process.execPath, [CLI, 'worker', '--event', JSON.stringify(workerEventFields(creds, port, { id: 3 }))]);
 */
export function workerEventFields(credentials: RunCredentials, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mode: 1, addr: '127.0.0.1', port, cacert: credentials.caCert, wrkcert: credentials.workerCert, wrkkey: credentials.workerKey, ...extra };
}

/**
 * The same event through {@link parseEvent}, so its defaults apply, as `runWorker` takes it.
 *
 * @example const exit = runWorker(workerEvent(creds, coordinator.port, { id: 7, bucket: `file:${dir}` }), { tmpRoot });
 */
export function workerEvent(credentials: RunCredentials, port: number, extra: Record<string, unknown> = {}): WorkerEvent {
  return parseEvent(workerEventFields(credentials, port, extra));
}
