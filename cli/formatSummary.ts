/**
 * The run summary for people, in the vocabulary the README defines once: chunk (a piece of the
 * plan), invocation (one launch of a worker), connection (a worker that said hello).
 */
import type { JobSummary } from '../runtime/coordinator/coordinator.js';
import { formatCost } from '../runtime/coordinator/costEstimate.js';

/**
 * @example formatSummary(summary) // 'done: 4/4 chunks (24 frames) in 3.10 s, store file:./xc-store'
 * // or 'FAILED: 6 of 24 chunks done (6 frames) in 1.23 s, ...', then a line per chunk not done
 */
export function formatSummary(summary: JobSummary): string {
  // Chunks whose outputs were there already (`--resume`) are done too, and said to be.
  const skipped = summary.chunks.filter((c) => c.status === 'skipped').length;
  const done = summary.chunks.filter((c) => c.status === 'done').length + skipped;
  const notes = [
    ...(summary.units ? [`${done * summary.units.perChunk} ${summary.units.name}`] : []),
    ...(skipped > 0 ? [`${skipped} already in the store, not run again`] : []),
  ];
  // On failure the count says what it counts: `FAILED: 6/24 chunks` read as six failed chunks.
  const count = summary.ok ? `done: ${done}/${summary.parts} chunks` : `FAILED: ${done} of ${summary.parts} chunks done`;
  const lines = [`${count}${notes.length > 0 ? ` (${notes.join('; ')})` : ''} in ${summary.seconds.toFixed(2)} s, store ${summary.store}`];
  const { retries, speculative, cancelled } = summary.recovery;
  if (retries + speculative > 0) lines.push(`  recovery: ${retries} retries, ${speculative} speculative copies, ${cancelled} attempts cancelled (another finished first)`);
  lines.push(`  cost: ${formatCost(summary.cost)}`);
  for (const chunk of summary.chunks) {
    if (chunk.status === 'done' || chunk.status === 'skipped') continue;
    const who = [
      chunk.connection === undefined ? 'no connection' : `connection ${chunk.connection}`,
      ...(chunk.invocation === undefined ? [] : [`invocation ${chunk.invocation}`]),
    ].join(', ');
    lines.push(`  chunk ${chunk.chunk} (${who}) ${chunk.status}${chunk.state ? ` in ${chunk.state}` : ''}: ${chunk.reason ?? 'no reason given'}`);
  }
  // A failed launch already named in its chunk's reason is not repeated.
  const named = (invocation: number) => summary.chunks.some((c) => c.reason?.includes(`launch of invocation ${invocation} failed`));
  for (const failure of summary.launchFailures) {
    if (!named(failure.invocation)) lines.push(`  invocation ${failure.invocation}: launch failed: ${failure.reason}`);
  }
  for (const exit of summary.workerExits) {
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    lines.push(`  invocation ${exit.invocation}: worker process exited with ${how}${exit.detail ? `: ${exit.detail}` : ''}`);
  }
  return lines.join('\n');
}
