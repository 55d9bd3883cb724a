/**
 * One line of relay counts, for the standalone relay's stderr and for a coordinator that embeds
 * one. Reads only {@link RelayStatus}, so it costs O(1) however many connections there are.
 */
import type { RelayStatus } from './relayServer.js';

/** @example relayStatusLine(relay.status(), 12_000) // '[12s] connections 4  pairs 2  waiting 2  ...' */
export function relayStatusLine(status: RelayStatus, elapsedMs: number): string {
  return `[${Math.round(elapsedMs / 1000)}s] ${relayCounts(status)}`;
}

/** The counts alone, as the coordinator's status line shows its embedded relay. */
export function relayCounts(status: RelayStatus): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const lost = status.refusedFrames + status.expiredFrames;
  return (
    `connections ${status.connections}  pairs ${status.pairs}  waiting ${status.waiting}  ` +
    `tombstones ${status.tombstones}  held ${status.heldFrames} (${mb(status.heldBytes)})  ` +
    `relayed ${status.relayedFrames} (${mb(status.relayedBytes)})  refused ${status.refused}` +
    (lost > 0 ? `  frames lost ${lost} (${status.refusedFrames} refused, ${status.expiredFrames} expired)` : '')
  );
}
