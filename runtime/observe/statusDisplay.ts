/**
 * The live status on stderr. On a terminal it redraws in place: counts, elapsed time and, when the
 * terminal is large enough, one cell per chunk showing its worker's state (failures in red). When
 * stderr is not a terminal (CI, logs) it prints a plain line at a slow, fixed interval instead.
 * Rendering reads a snapshot the coordinator keeps up to date in O(1) per event.
 */
import type { RecoveryCounts } from '../../machines/supervisor.js';
import type { RelayStatus } from '../relay/relayServer.js';
import { relayCounts } from '../relay/relayStatusLine.js';
import { formatCost, type RunCost } from '../coordinator/costEstimate.js';

export interface JobStatus {
  elapsedMs: number;
  /** Workers expected (parts) and launched so far. */
  parts: number;
  launched: number;
  /** Chunks not yet bound to a connected worker. */
  waiting: number;
  active: number;
  done: number;
  /** Chunks failed for good (no attempt left). */
  failed: number;
  /** Chunks whose outputs were there already (`--resume`). */
  skipped: number;
  recovery: RecoveryCounts;
  /** Worker-seconds so far (and the Lambda estimate). */
  cost: RunCost;
  /** Per chunk: the current state name of its worker, or undefined while waiting. */
  chunkStates: ReadonlyArray<string | undefined>;
  chunkFailed: ReadonlyArray<boolean>;
  /** The embedded relay's counts, for a job whose workers talk to each other. */
  relay?: RelayStatus;
}

export interface StatusDisplayOptions {
  stream?: NodeJS.WriteStream;
  /** Redraw period on a terminal (default 250 ms); plain lines come every `plainIntervalMs` (5 s). */
  intervalMs?: number;
  plainIntervalMs?: number;
}

export interface StatusDisplay {
  /** Render the final state once and stop redrawing. */
  stop(): void;
}

const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const CELL = 6;

export function summaryLine(status: JobStatus): string {
  const seconds = (status.elapsedMs / 1000).toFixed(1);
  const { retries, speculative, cancelled } = status.recovery;
  const recovery = retries + speculative + cancelled > 0 ? `  retries ${retries}  copies ${speculative}  cancelled ${cancelled}` : '';
  const skipped = status.skipped > 0 ? `  skipped ${status.skipped}` : '';
  return (
    `[${seconds}s] active ${status.active}  done ${status.done}/${status.parts}${skipped}  ` +
    `not yet connected ${status.waiting}  error ${status.failed}  launched ${status.launched}${recovery}  ${formatCost(status.cost)}` +
    (status.relay ? `  | relay: ${relayCounts(status.relay)}` : '')
  );
}

/** Abbreviate a dotted state path to its last segment, cut to fit a grid cell. */
export function cellLabel(state: string | undefined): string {
  if (state === undefined) return '.';
  const last = state.slice(state.lastIndexOf('.') + 1);
  return last.slice(0, CELL - 1);
}

export function renderGrid(status: JobStatus, columns: number, color: boolean): string[] {
  const perRow = Math.max(1, Math.floor(columns / CELL));
  const lines: string[] = [];
  for (let start = 0; start < status.chunkStates.length; start += perRow) {
    let line = '';
    for (let chunk = start; chunk < Math.min(start + perRow, status.chunkStates.length); chunk++) {
      const label = cellLabel(status.chunkStates[chunk]).padEnd(CELL);
      const state = status.chunkStates[chunk];
      if (!color) line += label;
      else if (status.chunkFailed[chunk]) line += `${RED}${label}${RESET}`;
      else if (state === 'done') line += `${GREEN}${label}${RESET}`;
      else if (state === undefined) line += `${DIM}${label}${RESET}`;
      else line += label;
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

export function startStatusDisplay(read: () => JobStatus, options: StatusDisplayOptions = {}): StatusDisplay {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) {
    const timer = setInterval(() => stream.write(`${summaryLine(read())}\n`), options.plainIntervalMs ?? 5000);
    timer.unref();
    return {
      stop() {
        clearInterval(timer);
        stream.write(`${summaryLine(read())}\n`);
      },
    };
  }
  let drawn = 0;
  const draw = () => {
    const status = read();
    const rows = stream.rows ?? 24;
    const columns = stream.columns ?? 80;
    const grid = renderGrid(status, columns, true);
    const lines = grid.length + 2 <= rows - 2 ? [summaryLine(status), ...grid] : [summaryLine(status)];
    // Move up over the previous drawing and clear it, then draw anew.
    const up = drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : '';
    stream.write(`${up}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  draw();
  const timer = setInterval(draw, options.intervalMs ?? 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}
