/**
 * The timeline plot: `-O` entries (one line per state a worker enters) drawn as one self-contained
 * SVG or HTML page, so a job can be looked at afterwards without network, scripts or fonts. Each
 * entry starts a state that lasts until the worker's next entry; `done`, `failed` and `cancelled` end a worker.
 *
 * Few workers get one row each with a bar per state. When the rows would not fit a sane height the
 * workers are bucketed (by chunk) into rows whose cells show the state most of them are in, and a
 * stacked area above shows how many workers are in each state over time.
 *
 * Rendering is pure (entries in, text out); reading an `-O` file and writing a plot file are the
 * two thin I/O edges at the bottom of this module.
 *
 * @example await writeTimelinePlot('timeline.html', entries, { title: 'png2y4m, 5 chunks' });
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ConfigError } from '../../common/errors.js';
import type { TimelineEntry } from './timeline.js';
import type { WorkerEnd } from './jobObserver.js';

// ---------------------------------------------------------------------------------------------
// Options

/** How a plot is drawn. Every field is optional; the default is given on each. */
export interface PlotOptions {
  /** Heading of the picture. Default `'xc-orch timeline'`. */
  title?: string;
  /** Width of the picture in pixels. Default 1200 (minimum 480). */
  width?: number;
  /** Most rows drawn one per worker; more workers than this are bucketed. Default 150. */
  maxRows?: number;
  /** A stacked "workers per state" area is drawn above the rows from this many workers on. Default 31. */
  countsFrom?: number;
}

/** Options with every default filled in, checked once. */
export type CompiledPlotOptions = Required<PlotOptions>;

export const PLOT_DEFAULTS: CompiledPlotOptions = { title: 'xc-orch timeline', width: 1200, maxRows: 150, countsFrom: 31 };

function compilePlotOptions(options: PlotOptions = {}): CompiledPlotOptions {
  const whole = (name: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min) throw new ConfigError(`plot ${name} must be a whole number >= ${min}, got ${value}`);
    return value;
  };
  return {
    title: options.title ?? PLOT_DEFAULTS.title,
    width: whole('width', options.width, PLOT_DEFAULTS.width, 480),
    maxRows: whole('maxRows', options.maxRows, PLOT_DEFAULTS.maxRows, 1),
    countsFrom: whole('countsFrom', options.countsFrom, PLOT_DEFAULTS.countsFrom, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Longest line accepted; longer ones are counted as malformed without being buffered whole. */
export const MAX_LINE_CHARS = 1 << 20;

/**
 * One `-O` line as an entry, or undefined when it is not one (bad JSON, missing or mistyped field).
 *
 * @example parseTimelineLine('{"t":1.5,"worker":0,"chunk":0,"state":"upload"}') // { t: 1.5, ... }
 */
export function parseTimelineLine(line: string): TimelineEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { t, worker, chunk, state, reason, attempt } = value as Record<string, unknown>;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) return undefined;
  if (typeof worker !== 'number' || !Number.isInteger(worker) || worker < 0) return undefined;
  if (typeof chunk !== 'number' || !Number.isInteger(chunk)) return undefined;
  if (typeof state !== 'string' || state === '') return undefined;
  if (reason !== undefined && typeof reason !== 'string') return undefined;
  if (attempt !== undefined && (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1)) return undefined;
  const entry: TimelineEntry = { t, worker, chunk, state };
  if (attempt !== undefined) entry.attempt = attempt;
  if (reason !== undefined) entry.reason = reason;
  return entry;
}

/** What reading an `-O` file found. */
export interface TimelineRead {
  entries: TimelineEntry[];
  /** Non-blank lines that were not entries. */
  malformed: number;
  /** 1-based number of the first malformed line, when there is one. */
  firstMalformedLine?: number;
}

/**
 * Parse `-O` text given as chunks (a file stream, or strings in tests), line by line, so that a big
 * file is never held whole. Blank lines are ignored; other non-entries are counted.
 *
 * @example const { entries, malformed } = await parseTimeline(createReadStream('times.jsonl'));
 */
export async function parseTimeline(chunks: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): Promise<TimelineRead> {
  const result: TimelineRead = { entries: [], malformed: 0 };
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let overlong = false;
  let lineNumber = 0;
  const take = (line: string, tooLong: boolean): void => {
    lineNumber++;
    if (!tooLong && line.trim() === '') return;
    const entry = tooLong ? undefined : parseTimelineLine(line);
    if (entry) result.entries.push(entry);
    else {
      result.malformed++;
      result.firstMalformedLine ??= lineNumber;
    }
  };
  const feed = (text: string): void => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      take(overlong ? '' : pending + piece, overlong || pending.length + piece.length > MAX_LINE_CHARS);
      pending = '';
      overlong = false;
      start = nl + 1;
    }
    if (overlong) return;
    pending += text.slice(start);
    if (pending.length > MAX_LINE_CHARS) {
      overlong = true;
      pending = '';
    }
  };
  for await (const chunk of chunks) feed(typeof chunk === 'string' ? chunk : decoder.write(chunk));
  feed(decoder.end());
  if (overlong || pending !== '') take(pending, overlong);
  return result;
}

/**
 * Stream-read an `-O` file. Throws ConfigError when the file cannot be read or holds no entry at
 * all; malformed lines are only counted (the caller reports them).
 *
 * @example const { entries, malformed } = await readTimelineFile('times.jsonl');
 */
export async function readTimelineFile(file: string): Promise<TimelineRead> {
  let read: TimelineRead;
  try {
    read = await parseTimeline(createReadStream(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new ConfigError(`cannot read timeline ${file}: ${why}`);
  }
  if (read.entries.length === 0) {
    const what = read.malformed > 0 ? `none of its ${read.malformed} non-blank lines is a timeline entry` : 'it is empty';
    throw new ConfigError(`no timeline entries in ${file}: ${what}`);
  }
  return read;
}

// ---------------------------------------------------------------------------------------------
// From entries to spans

/** A span of time a worker spent in one state; `open` when the worker never reported an end. */
export interface StateSpan {
  state: string;
  from: number;
  to: number;
  open: boolean;
}

/** One worker's history, ready to draw. */
export interface WorkerTrack {
  worker: number;
  chunk: number;
  /** The chunk's attempt this worker made, when not its first (a retry or a speculative copy). */
  attempt?: number;
  spans: StateSpan[];
  /** When and how the worker ended; absent when its last line is not `done`, `failed` or `cancelled`. */
  end?: { t: number; state: WorkerEnd; reason?: string };
}

const TERMINAL = new Set<string>(['done', 'failed', 'cancelled'] satisfies WorkerEnd[]);

/**
 * Group entries per worker into spans, rows ordered by chunk (then worker). A worker without a
 * `done`/`failed` line stays in its last state until `until` (the end of the plot).
 *
 * @example buildTracks(entries)[0].spans // [{ state: 'configure', from: 0.21, to: 0.3, open: false }, ...]
 */
export function buildTracks(entries: readonly TimelineEntry[], until = endOfTimeline(entries)): WorkerTrack[] {
  const byWorker = new Map<number, TimelineEntry[]>();
  for (const entry of entries) {
    const list = byWorker.get(entry.worker);
    if (list) list.push(entry);
    else byWorker.set(entry.worker, [entry]);
  }
  const tracks: WorkerTrack[] = [];
  for (const [worker, list] of byWorker) {
    // Lines are written in time order; a stable sort only repairs files that were concatenated.
    list.sort((a, b) => a.t - b.t);
    const track: WorkerTrack = { worker, chunk: list[0]!.chunk, spans: [] };
    const attempt = list[0]!.attempt;
    if (attempt !== undefined && attempt > 1) track.attempt = attempt;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (TERMINAL.has(entry.state)) {
        track.end = { t: entry.t, state: entry.state as WorkerEnd };
        if (entry.reason !== undefined) track.end.reason = entry.reason;
        continue;
      }
      const next = list[i + 1];
      const to = next ? next.t : Math.max(until, entry.t);
      track.spans.push({ state: entry.state, from: entry.t, to, open: next === undefined });
      if (next) delete track.end;
    }
    tracks.push(track);
  }
  tracks.sort((a, b) => a.chunk - b.chunk || a.worker - b.worker);
  return tracks;
}

/** The latest time in the entries (0 for none). @example endOfTimeline(entries) // 7.599 */
export function endOfTimeline(entries: readonly TimelineEntry[]): number {
  let end = 0;
  for (const entry of entries) if (entry.t > end) end = entry.t;
  return end;
}

// ---------------------------------------------------------------------------------------------
// Colours and legend keys

/** Colours for states, none of them red: red is kept for failures. */
const PALETTE = [
  '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7',
  '#499894', '#b6992d', '#86bcb6', '#d37295', '#8cd17d', '#a0cbe8', '#ffbe7d',
];
const OTHER_COLOUR = '#bab0ac';
const FAILED_COLOUR = '#d62728';
export const OTHER_KEY = 'other';

/** A state (or group of states) in the legend. */
export interface LegendKey {
  key: string;
  colour: string;
}

/** FNV-1a: a state keeps its colour from one run's plot to the next while colours do not collide. */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * Decide what the legend shows: whole state names when they are few, else the last segment of
 * dotted paths (`retrieveLoop.run` -> `run`), else the first, else the commonest plus `other`.
 * Keys are ordered by when they first occur, so the legend reads in the order of the job.
 *
 * @example const { keys, keyOf } = legendFor(buildTracks(entries)); keyOf('retrieveLoop.run')
 */
export function legendFor(tracks: readonly WorkerTrack[]): { keys: LegendKey[]; keyOf: (state: string) => string } {
  const firstSeen = new Map<string, number>();
  const time = new Map<string, number>();
  for (const track of tracks) {
    for (const span of track.spans) {
      const seen = firstSeen.get(span.state);
      if (seen === undefined || span.from < seen) firstSeen.set(span.state, span.from);
      time.set(span.state, (time.get(span.state) ?? 0) + (span.to - span.from));
    }
  }
  const states = [...firstSeen.keys()];
  const groupings: ((state: string) => string)[] = [
    (s) => s,
    (s) => s.slice(s.lastIndexOf('.') + 1) || s,
    (s) => s.split('.')[0] || s,
  ];
  let group = groupings[groupings.length - 1]!;
  for (const candidate of groupings) {
    if (new Set(states.map(candidate)).size <= PALETTE.length) {
      group = candidate;
      break;
    }
  }
  const keyFirst = new Map<string, number>();
  const keyTime = new Map<string, number>();
  for (const state of states) {
    const key = group(state);
    keyFirst.set(key, Math.min(keyFirst.get(key) ?? Infinity, firstSeen.get(state)!));
    keyTime.set(key, (keyTime.get(key) ?? 0) + time.get(state)!);
  }
  let named = [...keyFirst.keys()];
  const lumped = new Set<string>();
  if (named.length > PALETTE.length) {
    const kept = new Set([...named].sort((a, b) => keyTime.get(b)! - keyTime.get(a)! || (a < b ? -1 : 1)).slice(0, PALETTE.length - 1));
    for (const key of named) if (!kept.has(key)) lumped.add(key);
    named = named.filter((key) => kept.has(key));
  }
  named.sort((a, b) => keyFirst.get(a)! - keyFirst.get(b)! || (a < b ? -1 : 1));
  const used = new Set<number>();
  const colour = new Map<string, string>();
  // Colours are claimed in name order, not time order, so that they do not depend on timing.
  for (const key of [...named].sort()) {
    let index = hashName(key) % PALETTE.length;
    while (used.has(index)) index = (index + 1) % PALETTE.length;
    used.add(index);
    colour.set(key, PALETTE[index]!);
  }
  const keys: LegendKey[] = named.map((key) => ({ key, colour: colour.get(key)! }));
  if (lumped.size > 0) keys.push({ key: OTHER_KEY, colour: OTHER_COLOUR });
  const keyOf = (state: string): string => {
    const key = group(state);
    return lumped.has(key) ? OTHER_KEY : key;
  };
  return { keys, keyOf };
}

// ---------------------------------------------------------------------------------------------
// Layout: everything the SVG needs, as numbers (tested directly)

/** A coloured rectangle on a row; `share` is the fraction of the row's workers it stands for. */
export interface PlotBar {
  row: number;
  x: number;
  width: number;
  key: string;
  from: number;
  to: number;
  share: number;
  /** The worker never reported done or failed: the bar runs to the end of the plot. */
  open: boolean;
  tooltip: string;
}

/** A failure marker: one failed worker, or in bucketed rows all failures of a cell. */
export interface PlotFailure {
  row: number;
  x: number;
  t: number;
  count: number;
  tooltip: string;
}

export interface PlotRow {
  label: string;
  y: number;
  height: number;
  failed: boolean;
}

/** The whole picture as numbers. `x(t)` maps seconds to pixels. */
export interface TimelineLayout {
  mode: 'per-worker' | 'bucketed';
  width: number;
  height: number;
  title: string;
  subtitle: string;
  workers: number;
  done: number;
  failed: number;
  duration: number;
  plot: { left: number; right: number; top: number; bottom: number };
  x: (t: number) => number;
  ticks: { t: number; label: string }[];
  legend: (LegendKey & { x: number; y: number })[];
  /** The explanation under the legend, wrapped into lines. */
  legendNote: string[];
  rows: PlotRow[];
  bars: PlotBar[];
  failures: PlotFailure[];
  counts?: { top: number; bottom: number; max: number; ticks: number[]; areas: { key: string; colour: string; points: [number, number][] }[] };
  failureList: { worker: number; chunk: number; t: number; reason: string }[];
}

const FONT_PX = 12;
const CHAR_PX = 7; // a generous average width of a 12px sans-serif character
const MAX_ROWS_PANEL_PX = 900;
const COUNTS_PANEL_PX = 150;

/**
 * Ticks at 1, 2 or 5 times a power of ten, about `target` of them over [0, end].
 *
 * @example timeTicks(9.3) // 0, 1, 2, ... 9 with labels '0 s' ... '9 s'
 */
export function timeTicks(end: number, target = 10): { t: number; label: string }[] {
  const span = end > 0 ? end : 1;
  const raw = span / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: { t: number; label: string }[] = [];
  for (let i = 0; i * step <= span * (1 + 1e-9) && i <= 100; i++) {
    const t = Number((i * step).toFixed(decimals));
    ticks.push({ t, label: `${t.toFixed(decimals)} s` });
  }
  return ticks;
}

function countTicks(max: number): number[] {
  const raw = Math.max(1, max) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power);
  const ticks: number[] = [];
  for (let v = 0; v <= max && ticks.length <= 20; v += step) ticks.push(v);
  return ticks;
}

const seconds = (t: number): string => `${Number(t.toFixed(3))} s`;
const thousands = (n: number): string => n.toLocaleString('en-US');

function workerName(track: WorkerTrack, chunksUnique: boolean): string {
  const name = chunksUnique ? `chunk ${track.chunk}` : `c${track.chunk} w${track.worker}`;
  return track.attempt === undefined ? name : `${name} #${track.attempt}`;
}

/**
 * Compute the picture: rows, bars, failure markers, axis, legend (and the counts area for many
 * workers). Pure; `renderTimelineSvg` only serialises it.
 *
 * @example const layout = layoutTimeline(entries); layout.mode // 'per-worker' or 'bucketed'
 */
export function layoutTimeline(entries: readonly TimelineEntry[], options?: PlotOptions): TimelineLayout {
  const opts = compilePlotOptions(options);
  const duration = endOfTimeline(entries);
  const end = duration > 0 ? duration : 1;
  const tracks = buildTracks(entries, duration);
  const { keys, keyOf } = legendFor(tracks);
  const chunksUnique = new Set(tracks.map((t) => t.chunk)).size === tracks.length;
  const failedTracks = tracks.filter((t) => t.end?.state === 'failed');
  const done = tracks.filter((t) => t.end?.state === 'done').length;
  const bucketed = tracks.length > opts.maxRows;
  const perRow = bucketed ? Math.ceil(tracks.length / opts.maxRows) : 1;
  const rowCount = Math.ceil(tracks.length / perRow);

  // Left margin fits the longest row label.
  const rowLabel = (index: number): string => {
    const first = tracks[index * perRow]!;
    if (perRow === 1) return workerName(first, chunksUnique);
    const last = tracks[Math.min(tracks.length, (index + 1) * perRow) - 1]!;
    return `chunks ${first.chunk}–${last.chunk}`;
  };
  let longest = 0;
  for (let r = 0; r < rowCount; r++) longest = Math.max(longest, rowLabel(r).length);
  const left = Math.min(220, 16 + longest * CHAR_PX);
  const right = opts.width - 24;
  const x = (t: number): number => left + (t / end) * (right - left);

  // Legend flows left to right under the title.
  const legend: TimelineLayout['legend'] = [];
  let lx = left;
  let ly = 64;
  const legendItems: { key: string; colour: string }[] = [...keys];
  if (failedTracks.length > 0) legendItems.push({ key: 'failed', colour: FAILED_COLOUR });
  for (const item of legendItems) {
    const w = 22 + item.key.length * CHAR_PX + 18;
    if (lx + w > right && lx > left) {
      lx = left;
      ly += 20;
    }
    legend.push({ ...item, x: lx, y: ly });
    lx += w;
  }
  const legendNote = bucketed
    ? `${thousands(tracks.length)} workers in ${rowCount} rows of ${perRow} (by chunk): each cell shows the state most of the row's running workers are in, paler when fewer of them are still running. Above: how many workers are in each state over time.`
    : `One row per worker, ordered by chunk; a bar per state, from entering it to entering the next.${tracks.some((t) => !t.end) ? ' Hatched ends: workers that never reported done or failed.' : ''}`;
  const noteLines = wrapText(legendNote, Math.floor((right - left) / 6));
  let y = ly + 8 + noteLines.length * 15 + 22;

  const slices = Math.max(1, Math.floor((right - left) / 2));
  const dt = end / slices;
  const keyIndex = new Map(keys.map((k, i) => [k.key, i]));
  const accumulate = (grid: Float64Array, span: StateSpan): void => {
    const k = keyIndex.get(keyOf(span.state));
    if (k === undefined || span.to <= span.from) return;
    const first = Math.min(slices - 1, Math.floor(span.from / dt));
    const last = Math.min(slices - 1, Math.floor(span.to / dt));
    for (let i = first; i <= last; i++) {
      const overlap = Math.min(span.to, (i + 1) * dt) - Math.max(span.from, i * dt);
      if (overlap > 0) grid[i * keys.length + k]! += overlap;
    }
  };

  let counts: TimelineLayout['counts'];
  if (tracks.length >= opts.countsFrom || bucketed) {
    const grid = new Float64Array(slices * keys.length);
    for (const track of tracks) for (const span of track.spans) accumulate(grid, span);
    let max = 0;
    for (let i = 0; i < slices; i++) {
      let total = 0;
      for (let k = 0; k < keys.length; k++) total += grid[i * keys.length + k]! / dt;
      max = Math.max(max, total);
    }
    const top = y;
    const bottom = y + COUNTS_PANEL_PX;
    const ticks = countTicks(max);
    const scaleMax = Math.max(max, ticks[ticks.length - 1]!, 1);
    const cy = (v: number): number => bottom - (v / scaleMax) * (bottom - top);
    const below = new Float64Array(slices);
    const areas: NonNullable<TimelineLayout['counts']>['areas'] = [];
    keys.forEach((key, k) => {
      const upper: [number, number][] = [];
      const lower: [number, number][] = [];
      for (let i = 0; i < slices; i++) {
        const base = below[i]!;
        const value = base + grid[i * keys.length + k]! / dt;
        const x0 = x(i * dt);
        const x1 = x((i + 1) * dt);
        upper.push([x0, cy(value)], [x1, cy(value)]);
        lower.push([x0, cy(base)], [x1, cy(base)]);
        below[i] = value;
      }
      areas.push({ key: key.key, colour: key.colour, points: simplifyPath([...upper, ...lower.reverse()]) });
    });
    counts = { top, bottom, max: scaleMax, ticks, areas };
    y = bottom + 22;
  }

  const rowsTop = y;
  const rowHeight = Math.max(4, Math.min(24, Math.floor(MAX_ROWS_PANEL_PX / rowCount)));
  const gap = bucketed ? 0 : Math.max(1, Math.round(rowHeight * 0.2));
  const rows: PlotRow[] = [];
  for (let r = 0; r < rowCount; r++) {
    const members = tracks.slice(r * perRow, (r + 1) * perRow);
    rows.push({ label: rowLabel(r), y: rowsTop + r * rowHeight + gap / 2, height: rowHeight - gap, failed: members.some((m) => m.end?.state === 'failed') });
  }
  const rowsBottom = rowsTop + rowCount * rowHeight;

  const bars: PlotBar[] = [];
  const failures: PlotFailure[] = [];
  if (!bucketed) {
    tracks.forEach((track, r) => {
      const name = workerName(track, chunksUnique);
      for (const span of track.spans) {
        const key = keyOf(span.state);
        const tail = span.open ? ' (still there at the end)' : '';
        bars.push({
          row: r,
          x: x(span.from),
          width: x(span.to) - x(span.from),
          key,
          from: span.from,
          to: span.to,
          share: 1,
          open: span.open,
          tooltip: `${name} (worker ${track.worker}): ${span.state}, ${seconds(span.from)} – ${seconds(span.to)} (${seconds(span.to - span.from)})${tail}`,
        });
      }
      if (track.end?.state === 'failed') {
        failures.push({ row: r, x: x(track.end.t), t: track.end.t, count: 1, tooltip: `${name} (worker ${track.worker}) failed at ${seconds(track.end.t)}: ${track.end.reason ?? 'no reason given'}` });
      }
    });
  } else {
    const levels = [0.3, 0.5, 0.75, 1];
    for (let r = 0; r < rowCount; r++) {
      const members = tracks.slice(r * perRow, (r + 1) * perRow);
      const grid = new Float64Array(slices * keys.length);
      for (const track of members) for (const span of track.spans) accumulate(grid, span);
      let run: { key: number; level: number; first: number; last: number; share: number } | undefined;
      const flush = (): void => {
        if (!run) return;
        const key = keys[run.key]!;
        const from = run.first * dt;
        const to = (run.last + 1) * dt;
        const mean = run.share / (run.last - run.first + 1);
        bars.push({
          row: r,
          x: x(from),
          width: x(to) - x(from),
          key: key.key,
          from,
          to,
          share: levels[run.level]!,
          open: false,
          tooltip: `${rows[r]!.label}: mostly ${key.key}, ${seconds(from)} – ${seconds(to)}, ${Math.round(mean * 100)}% of ${members.length} workers running`,
        });
        run = undefined;
      };
      for (let i = 0; i < slices; i++) {
        let best = -1;
        let bestValue = 0;
        let total = 0;
        for (let k = 0; k < keys.length; k++) {
          const v = grid[i * keys.length + k]!;
          total += v;
          if (v > bestValue) {
            best = k;
            bestValue = v;
          }
        }
        if (best < 0) {
          flush();
          continue;
        }
        const share = total / (dt * members.length);
        const level = levels.findIndex((l) => share <= l + 1e-9);
        const lvl = level < 0 ? levels.length - 1 : level;
        if (run && run.key === best && run.level === lvl && run.last === i - 1) {
          run.last = i;
          run.share += share;
        } else {
          flush();
          run = { key: best, level: lvl, first: i, last: i, share };
        }
      }
      flush();
      // One marker per (row, slice) with failures, naming a few of them.
      const cells = new Map<number, WorkerTrack[]>();
      for (const track of members) {
        if (track.end?.state !== 'failed') continue;
        const cell = Math.min(slices - 1, Math.floor(track.end.t / dt));
        const list = cells.get(cell);
        if (list) list.push(track);
        else cells.set(cell, [track]);
      }
      for (const [cell, list] of [...cells].sort((a, b) => a[0] - b[0])) {
        const shown = list.slice(0, 5).map((t) => `${workerName(t, chunksUnique)} (worker ${t.worker}) at ${seconds(t.end!.t)}: ${t.end!.reason ?? 'no reason given'}`);
        if (list.length > shown.length) shown.push(`… and ${list.length - shown.length} more`);
        const t = list[0]!.end!.t;
        failures.push({ row: r, x: x((cell + 0.5) * dt), t, count: list.length, tooltip: `${list.length} failed:\n${shown.join('\n')}` });
      }
    }
  }

  const ticks = timeTicks(end).filter((tick) => tick.t <= end * (1 + 1e-9));
  const height = rowsBottom + 44;
  const subtitle = `${thousands(tracks.length)} workers · ${thousands(done)} done · ${thousands(failedTracks.length)} failed${tracks.length - done - failedTracks.length > 0 ? ` · ${thousands(tracks.length - done - failedTracks.length)} unfinished` : ''} · ${seconds(duration)}`;
  const failureList = failedTracks
    .map((t) => ({ worker: t.worker, chunk: t.chunk, t: t.end!.t, reason: t.end!.reason ?? 'no reason given' }))
    .sort((a, b) => a.t - b.t);
  const layout: TimelineLayout = {
    mode: bucketed ? 'bucketed' : 'per-worker',
    width: opts.width,
    height,
    title: opts.title,
    subtitle,
    workers: tracks.length,
    done,
    failed: failedTracks.length,
    duration,
    plot: { left, right, top: counts ? counts.top : rowsTop, bottom: rowsBottom },
    x,
    ticks,
    legend,
    legendNote: noteLines,
    rows,
    bars,
    failures,
    failureList,
  };
  if (counts) layout.counts = counts;
  return layout;
}

/** Break `text` at spaces into lines of at most `chars` characters (longer words stay whole). */
function wrapText(text: string, chars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > chars) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Drop points in the middle of straight horizontal or vertical runs (the areas are step shapes). */
function simplifyPath(points: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of points) {
    const a = out[out.length - 2];
    const b = out[out.length - 1];
    if (a && b && ((a[0] === b[0] && b[0] === p[0]) || (a[1] === b[1] && b[1] === p[1]))) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Serialising

/**
 * Escape text for XML/HTML, dropping characters XML 1.0 forbids (a NUL in a reason, say).
 *
 * @example escapeXml('a<b & \u0000c') // 'a&lt;b &amp; c'
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const px = (n: number): string => String(Math.round(n * 100) / 100);

function svgBody(layout: TimelineLayout): string[] {
  const { plot } = layout;
  const out: string[] = [];
  const colourOf = new Map(layout.legend.map((l) => [l.key, l.colour]));
  out.push(`<rect width="${layout.width}" height="${layout.height}" fill="#ffffff"/>`);
  out.push(`<text x="${plot.left}" y="26" class="title">${escapeXml(layout.title)}</text>`);
  out.push(`<text x="${plot.left}" y="46" class="sub">${escapeXml(layout.subtitle)}</text>`);

  out.push('<g class="legend">');
  for (const item of layout.legend) {
    if (item.key === 'failed') out.push(`<path d="${failMark(item.x + 7, item.y - 4, 5)}" class="fail"/>`);
    else out.push(`<rect x="${item.x}" y="${item.y - 10}" width="14" height="12" fill="${item.colour}"/>`);
    out.push(`<text x="${item.x + 20}" y="${item.y}">${escapeXml(item.key === 'failed' ? 'failed (hover for the reason)' : item.key)}</text>`);
  }
  const noteY = (layout.legend[layout.legend.length - 1]?.y ?? 64) + 22;
  layout.legendNote.forEach((line, i) => out.push(`<text x="${plot.left}" y="${noteY + i * 15}" class="note">${escapeXml(line)}</text>`));
  out.push('</g>');

  // Grid lines at every tick, across both panels.
  out.push('<g class="grid">');
  for (const tick of layout.ticks) out.push(`<line x1="${px(layout.x(tick.t))}" y1="${plot.top}" x2="${px(layout.x(tick.t))}" y2="${plot.bottom}"/>`);
  out.push('</g>');

  if (layout.counts) {
    const c = layout.counts;
    out.push('<g class="counts">');
    const cy = (v: number): number => c.bottom - (v / c.max) * (c.bottom - c.top);
    for (const v of c.ticks) {
      out.push(`<line class="hgrid" x1="${plot.left}" y1="${px(cy(v))}" x2="${plot.right}" y2="${px(cy(v))}"/>`);
      out.push(`<text x="${plot.left - 6}" y="${px(cy(v) + 4)}" class="end">${thousands(v)}</text>`);
    }
    out.push(`<text x="${plot.left - 6}" y="${c.top - 8}" class="end axis-title">workers</text>`);
    for (const area of c.areas) {
      const d = area.points.map(([ax, ay], i) => `${i === 0 ? 'M' : 'L'}${px(ax)} ${px(ay)}`).join('') + 'Z';
      out.push(`<path d="${d}" fill="${area.colour}"><title>${escapeXml(area.key)}</title></path>`);
    }
    out.push(`<line class="axis" x1="${plot.left}" y1="${c.bottom}" x2="${plot.right}" y2="${c.bottom}"/>`);
    out.push('</g>');
  }

  out.push('<g class="rows">');
  // Labels: every row when they fit, else every k-th so they stay 12px apart.
  const pitch = layout.rows.length > 1 ? layout.rows[1]!.y - layout.rows[0]!.y : 24;
  const every = Math.max(1, Math.ceil(13 / pitch));
  layout.rows.forEach((row, r) => {
    if (layout.mode === 'per-worker' && r % 2 === 1) out.push(`<rect class="stripe" x="${plot.left}" y="${px(row.y)}" width="${px(plot.right - plot.left)}" height="${px(row.height)}"/>`);
    if (r % every === 0) {
      out.push(`<text x="${plot.left - 6}" y="${px(row.y + row.height / 2 + 4)}" class="end${row.failed && layout.mode === 'per-worker' ? ' failed-label' : ''}">${escapeXml(row.label)}</text>`);
    }
  });
  for (const bar of layout.bars) {
    const row = layout.rows[bar.row]!;
    const opacity = bar.share < 1 ? ` fill-opacity="${bar.share}"` : '';
    out.push(
      `<rect x="${px(bar.x)}" y="${px(row.y)}" width="${px(Math.max(bar.width, 0.5))}" height="${px(row.height)}" fill="${colourOf.get(bar.key) ?? OTHER_COLOUR}"${opacity} data-row="${bar.row}" data-state="${escapeXml(bar.key)}" data-from="${bar.from}" data-to="${bar.to}"><title>${escapeXml(bar.tooltip)}</title></rect>`,
    );
  }
  // Workers that never ended: hatch the last bar's end so it does not read as a clean finish.
  if (layout.mode === 'per-worker') {
    for (const bar of layout.bars) {
      if (!bar.open) continue;
      const row = layout.rows[bar.row]!;
      const w = Math.min(12, bar.width);
      out.push(`<rect x="${px(bar.x + bar.width - w)}" y="${px(row.y)}" width="${px(w)}" height="${px(row.height)}" fill="url(#open-end)"/>`);
    }
  }
  for (const f of layout.failures) {
    const row = layout.rows[f.row]!;
    // Small crosses on thin rows, so that markers do not hide the neighbouring rows.
    const size = Math.max(2.5, Math.min(7, row.height / 2 + 1));
    const cy = row.y + row.height / 2;
    const thin = row.height < 10 ? ' thin' : '';
    out.push(`<g class="failure" data-row="${f.row}" data-t="${f.t}" data-count="${f.count}"><title>${escapeXml(f.tooltip)}</title><path d="${failMark(f.x, cy, size)}" class="fail${thin}"/></g>`);
  }
  out.push('</g>');

  // Time axis under the rows.
  out.push('<g class="axis-x">');
  out.push(`<line class="axis" x1="${plot.left}" y1="${plot.bottom + 2}" x2="${plot.right}" y2="${plot.bottom + 2}"/>`);
  for (const tick of layout.ticks) {
    const tx = px(layout.x(tick.t));
    out.push(`<line class="axis" x1="${tx}" y1="${plot.bottom + 2}" x2="${tx}" y2="${plot.bottom + 7}"/>`);
    out.push(`<text x="${tx}" y="${plot.bottom + 20}" class="mid">${tick.label}</text>`);
  }
  out.push(`<text x="${plot.right}" y="${plot.bottom + 36}" class="end axis-title">time since the job started</text>`);
  out.push('</g>');
  return out;
}

/** A cross centred on (cx, cy): reads as "failed" even where bars are a few pixels high. */
function failMark(cx: number, cy: number, r: number): string {
  return `M${px(cx - r)} ${px(cy - r)}L${px(cx + r)} ${px(cy + r)}M${px(cx - r)} ${px(cy + r)}L${px(cx + r)} ${px(cy - r)}`;
}

const SVG_STYLE = [
  'text{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;font-size:12px;fill:#222}',
  '.title{font-size:18px;font-weight:600}',
  '.sub{fill:#555}',
  '.note{fill:#555;font-size:11px}',
  '.end{text-anchor:end}',
  '.mid{text-anchor:middle}',
  '.axis-title{fill:#777;font-size:11px}',
  '.grid line,.hgrid{stroke:#e4e4e4;stroke-width:1}',
  '.axis{stroke:#888;stroke-width:1}',
  '.stripe{fill:#f6f6f6}',
  `.fail{stroke:${FAILED_COLOUR};stroke-width:2.5;stroke-linecap:round;fill:none}`,
  '.fail.thin{stroke-width:1.6}',
  `.failed-label{fill:${FAILED_COLOUR};font-weight:600}`,
].join('');

function svgDocument(layout: TimelineLayout, standalone: boolean): string {
  // The namespace is an identifier, never fetched; inline SVG in HTML does not need it.
  const ns = standalone ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  return [
    `<svg${ns} width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${escapeXml(`${layout.title}: ${layout.subtitle}`)}">`,
    `<title>${escapeXml(`${layout.title}: ${layout.subtitle}`)}</title>`,
    `<defs><style>${SVG_STYLE}</style><pattern id="open-end" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="4" fill="#ffffff" fill-opacity="0.8"/></pattern></defs>`,
    ...svgBody(layout),
    '</svg>',
  ].join('\n');
}

/**
 * The timeline as a standalone SVG document.
 *
 * @example writeFileSync('timeline.svg', renderTimelineSvg(entries));
 */
export function renderTimelineSvg(entries: readonly TimelineEntry[], options?: PlotOptions): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svgDocument(layoutTimeline(entries, options), true)}\n`;
}

/**
 * The timeline as one self-contained HTML page (inline SVG, inline CSS, no script), with the list
 * of failures and their reasons under the picture.
 *
 * @example writeFileSync('timeline.html', renderTimelineHtml(entries, { title: 'png2y4m' }));
 */
export function renderTimelineHtml(entries: readonly TimelineEntry[], options?: PlotOptions): string {
  const layout = layoutTimeline(entries, options);
  const shown = layout.failureList.slice(0, 200);
  const failures =
    layout.failureList.length === 0
      ? ''
      : [
          `<h2>Failures (${thousands(layout.failureList.length)})</h2>`,
          '<table><thead><tr><th>chunk</th><th>worker</th><th>at</th><th>reason</th></tr></thead><tbody>',
          ...shown.map((f) => `<tr><td>${f.chunk}</td><td>${f.worker}</td><td>${escapeXml(seconds(f.t))}</td><td>${escapeXml(f.reason)}</td></tr>`),
          '</tbody></table>',
          layout.failureList.length > shown.length ? `<p>… and ${thousands(layout.failureList.length - shown.length)} more.</p>` : '',
        ].join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(layout.title)}</title>`,
    '<style>',
    'body{margin:16px;font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;background:#fff}',
    '.plot{overflow-x:auto}',
    'svg{display:block}',
    'table{border-collapse:collapse;font-size:13px;margin-top:8px}',
    'th,td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left;vertical-align:top}',
    'td:nth-child(-n+3){white-space:nowrap;font-variant-numeric:tabular-nums}',
    'h2{font-size:16px;margin-top:24px}',
    '</style>',
    '</head>',
    '<body>',
    `<div class="plot">${svgDocument(layout, false)}</div>`,
    failures,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The format a plot file gets from its extension: `.svg`, or `.html`/`.htm`; ConfigError otherwise.
 *
 * @example plotFormat('timeline.svg') // 'svg'
 */
export function plotFormat(file: string): 'svg' | 'html' {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg') return 'svg';
  if (ext === '.html' || ext === '.htm') return 'html';
  throw new ConfigError(`cannot tell the plot format of ${file}: name it .html or .svg`);
}

/**
 * Write the plot of `entries` to `file`, as SVG or HTML after its extension; what the coordinator
 * calls at the end of a run (`--plot FILE`) with the entries it recorded.
 *
 * @example await writeTimelinePlot('timeline.html', entries, { title: 'png2y4m sintel-1k' });
 */
export async function writeTimelinePlot(file: string, entries: readonly TimelineEntry[], options?: PlotOptions): Promise<void> {
  const format = plotFormat(file);
  if (entries.length === 0) throw new ConfigError(`nothing to plot into ${file}: no timeline entries`);
  const text = format === 'svg' ? renderTimelineSvg(entries, options) : renderTimelineHtml(entries, options);
  await writeFile(file, text);
}
