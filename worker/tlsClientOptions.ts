/**
 * The worker's side of mutual TLS, said once for the command link and the peer links alike: trust
 * only the run's CA, present the worker's certificate, and check the far end, by name
 * (`srvname`, default `xc-orch-coordinator`) or, for mu's payload, by pinning exactly `srvcrt`.
 */
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { COORDINATOR_NAME } from '../protocol/tlsNames.js';
import type { WorkerEvent } from './event.js';

/**
 * TLS options for every connection the worker makes (add `host` and `port`).
 *
 * @example tls.connect({ ...tlsClientOptions(event), host: event.addr, port: event.port })
 */
export function tlsClientOptions(event: Pick<WorkerEvent, 'cacert' | 'wrkcert' | 'wrkkey' | 'srvname' | 'pinned_cert'>): ConnectionOptions {
  const base: ConnectionOptions = { ca: event.cacert, cert: event.wrkcert, key: event.wrkkey, rejectUnauthorized: true };
  if (event.pinned_cert === undefined) return { ...base, servername: event.srvname || COORDINATOR_NAME };
  const pinned = new X509Certificate(event.pinned_cert).raw;
  return {
    ...base,
    // The chain is still verified against the CA first; then only this very certificate will do.
    checkServerIdentity: (_host: string, peer: PeerCertificate) =>
      peer.raw.equals(pinned) ? undefined : new Error('the server presented a certificate other than the pinned srvcrt'),
  };
}
