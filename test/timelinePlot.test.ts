import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { run as plotCommand } from '../cli/plot.js';
import { ConfigError } from '../common/errors.js';
import type { TimelineEntry } from '../runtime/observe/timeline.js';
import {
  buildTracks,
  layoutTimeline,
  legendFor,
  MAX_LINE_CHARS,
  parseTimeline,
  parseTimelineLine,
  plotFormat,
  readTimelineFile,
  renderTimelineHtml,
  renderTimelineSvg,
  timeTicks,
  writeTimelinePlot,
} from '../runtime/observe/timelinePlot.js';
import { syntheticTimeline } from './fixtures/timeline/syntheticTimeline.js';
import { captureOutput } from './support/captureOutput.js';
import { runCli } from './support/runCli.js';
import { useTempDirs } from './support/tempDirs.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/timeline/', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * A small XML well-formedness check: balanced and properly nested tags, one root, quoted
 * attributes, no raw `<` or stray `&` in text or attribute values. Returns the problems found.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const entity = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i;
  let last = 0;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    if (text.includes('<') || text.includes('>')) problems.push(`raw angle bracket in text near offset ${last}: ${text.slice(0, 40)}`);
    if (entity.test(text)) problems.push(`stray & in text near offset ${last}`);
    if (entity.test(m[3] ?? '')) problems.push(`stray & in attributes of <${m[2]}>`);
    if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root: ${text.slice(0, 40)}`);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name!);
    }
  }
  const rest = body.slice(last);
  if (rest.trim() !== '') problems.push(`unparsed text at the end: ${rest.slice(0, 60)}`);
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** The `<rect>`s that stand for states, with their numbers. */
function stateRects(svg: string): { x: number; width: number; row: number; state: string; from: number; to: number; title: string }[] {
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="[^"]+"(?: fill-opacity="[\d.]+")? data-row="(\d+)" data-state="([^"]*)" data-from="([\d.e-]+)" data-to="([\d.e-]+)"><title>([^<]*)<\/title><\/rect>/g)];
  return rects.map((m) => ({ x: Number(m[1]), width: Number(m[2]), row: Number(m[3]), state: m[4]!, from: Number(m[5]), to: Number(m[6]), title: m[7]! }));
}

function entry(t: number, worker: number, state: string, reason?: string, chunk = worker): TimelineEntry {
  return reason === undefined ? { t, worker, chunk, state } : { t, worker, chunk, state, reason };
}

describe('parsing -O lines', () => {
  it('accepts entries, with and without a reason', () => {
    expect(parseTimelineLine('{"t":1.234,"worker":3,"chunk":3,"state":"retrieveLoop.retrieve"}')).toEqual({ t: 1.234, worker: 3, chunk: 3, state: 'retrieveLoop.retrieve' });
    expect(parseTimelineLine(' {"t":0,"worker":0,"chunk":7,"state":"failed","reason":"FAIL(x)"} ')).toEqual({ t: 0, worker: 0, chunk: 7, state: 'failed', reason: 'FAIL(x)' });
  });

  it.each([
    ['not JSON', 'hello'],
    ['truncated JSON', '{"t":1,"worker":0,"chunk":0,"state":"do'],
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['t as a string', '{"t":"1","worker":0,"chunk":0,"state":"a"}'],
    ['a negative t', '{"t":-1,"worker":0,"chunk":0,"state":"a"}'],
    ['a fractional worker', '{"t":1,"worker":0.5,"chunk":0,"state":"a"}'],
    ['a missing chunk', '{"t":1,"worker":0,"state":"a"}'],
    ['an empty state', '{"t":1,"worker":0,"chunk":0,"state":""}'],
    ['a numeric reason', '{"t":1,"worker":0,"chunk":0,"state":"failed","reason":3}'],
  ])('rejects %s', (_why, line) => {
    expect(parseTimelineLine(line)).toBeUndefined();
  });

  it('reassembles lines split across chunks, even inside a UTF-8 character, and counts malformed lines', async () => {
    const text = '{"t":0.1,"worker":0,"chunk":0,"state":"é.ü"}\n\ngarbage\n{"t":0.2,"worker":0,"chunk":0,"state":"done"}';
    const bytes = Buffer.from(text);
    for (const step of [1, 2, 3, 7, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += step) chunks.push(bytes.subarray(i, i + step));
      const read = await parseTimeline(chunks);
      expect(read.entries.map((e) => e.state)).toEqual(['é.ü', 'done']);
      expect(read.malformed).toBe(1);
      expect(read.firstMalformedLine).toBe(3);
    }
  });

  it('counts an overlong line as malformed without keeping it, and goes on after it', async () => {
    const huge = 'x'.repeat(MAX_LINE_CHARS + 10);
    const chunks = ['{"t":0,"worker":0,"chunk":0,"state":"a"}\n', huge.slice(0, MAX_LINE_CHARS / 2), huge.slice(MAX_LINE_CHARS / 2), '\n{"t":1,"worker":0,"chunk":0,"state":"done"}\n'];
    const read = await parseTimeline(chunks);
    expect(read.entries.map((e) => e.state)).toEqual(['a', 'done']);
    expect(read.malformed).toBe(1);
    expect(read.firstMalformedLine).toBe(2);
  });

  it('reads a real-looking file', async () => {
    const read = await readTimelineFile(join(FIXTURES, 'five-workers.jsonl'));
    expect(read.malformed).toBe(0);
    expect(new Set(read.entries.map((e) => e.worker)).size).toBe(5);
    expect(read.entries.filter((e) => e.state === 'failed')).toHaveLength(1);
  });

  it('skips malformed lines of a file and says where the first one is', async () => {
    const read = await readTimelineFile(join(FIXTURES, 'malformed.jsonl'));
    expect(read.entries).toHaveLength(6);
    expect(read.malformed).toBe(5);
    expect(read.firstMalformedLine).toBe(3);
    expect(read.entries.at(-1)).toEqual({ t: 1.2, worker: 0, chunk: 0, state: 'done' });
  });

  describe('files that cannot be plotted', () => {
    const tempDir = useTempDirs('file');
    let dir: string;
    beforeAll(async () => {
      dir = await tempDir('xc-plot-files-');
    });

    it('names a missing file', async () => {
      const missing = join(dir, 'nope.jsonl');
      await expect(readTimelineFile(missing)).rejects.toThrow(new ConfigError(`cannot read timeline ${missing}: no such file`));
    });

    it('names a directory', async () => {
      await expect(readTimelineFile(dir)).rejects.toThrow(/is a directory/);
    });

    it('says an empty file is empty', async () => {
      const empty = join(dir, 'empty.jsonl');
      await writeFile(empty, '\n\n');
      await expect(readTimelineFile(empty)).rejects.toThrow(/no timeline entries in .*empty\.jsonl: it is empty/);
    });

    it('says when no line is an entry', async () => {
      const junk = join(dir, 'junk.jsonl');
      await writeFile(junk, 'a\nb\n{"t":1}\n');
      await expect(readTimelineFile(junk)).rejects.toThrow(/none of its 3 non-blank lines is a timeline entry/);
    });
  });
});

describe('spans and legend', () => {
  it('makes a state last until the next entry, ends at done/failed, and orders rows by chunk', () => {
    const tracks = buildTracks([
      entry(0.5, 0, 'configure', undefined, 9),
      entry(0.2, 1, 'configure', undefined, 2),
      entry(1.0, 0, 'upload', undefined, 9),
      entry(1.5, 0, 'done', undefined, 9),
      entry(0.4, 1, 'retrieve', undefined, 2),
      entry(0.9, 1, 'failed', 'FAIL(boom)', 2),
      entry(0.3, 2, 'retrieve', undefined, 5),
    ]);
    expect(tracks.map((t) => t.chunk)).toEqual([2, 5, 9]);
    expect(tracks[0]).toEqual({
      worker: 1,
      chunk: 2,
      spans: [
        { state: 'configure', from: 0.2, to: 0.4, open: false },
        { state: 'retrieve', from: 0.4, to: 0.9, open: false },
      ],
      end: { t: 0.9, state: 'failed', reason: 'FAIL(boom)' },
    });
    // A worker that never ended stays in its last state until the end of the timeline.
    expect(tracks[1]).toEqual({ worker: 2, chunk: 5, spans: [{ state: 'retrieve', from: 0.3, to: 1.5, open: true }] });
    expect(tracks[2]!.spans.map((s) => [s.state, s.from, s.to])).toEqual([
      ['configure', 0.5, 1.0],
      ['upload', 1.0, 1.5],
    ]);
  });

  it('keeps whole state names when they are few, in the order they first occur, with distinct colours', () => {
    const { keys, keyOf } = legendFor(buildTracks(syntheticTimeline({ workers: 3 })));
    expect(keys.map((k) => k.key)).toEqual(['configure', 'retrieveLoop.retrieve', 'retrieveLoop.run', 'upload']);
    expect(new Set(keys.map((k) => k.colour)).size).toBe(4);
    expect(keyOf('retrieveLoop.run')).toBe('retrieveLoop.run');
  });

  it('groups many dotted states by their last segment, then lumps the rest into "other"', () => {
    const many: TimelineEntry[] = [];
    for (let i = 0; i < 20; i++) many.push(entry(i, 0, `phase${i}.${i % 4 === 0 ? 'wait' : 'work'}`));
    const grouped = legendFor(buildTracks(many));
    expect(grouped.keys.map((k) => k.key)).toEqual(['wait', 'work']);
    expect(grouped.keyOf('phase7.work')).toBe('work');

    const flat: TimelineEntry[] = [];
    for (let i = 0; i < 40; i++) flat.push(entry(i, 0, `s${String(i).padStart(2, '0')}`), entry(i + 0.5, 1, `s${String(i).padStart(2, '0')}`));
    const lumped = legendFor(buildTracks(flat));
    expect(lumped.keys).toHaveLength(15);
    expect(lumped.keys.at(-1)!.key).toBe('other');
    expect(new Set(lumped.keys.map((k) => k.colour)).size).toBe(15);
    expect(flat.map((e) => lumped.keyOf(e.state)).filter((k) => k === 'other').length).toBeGreaterThan(0);
  });

  it('gives a state the same colour whatever other states are in the run, unless two collide', () => {
    const a = legendFor(buildTracks([entry(0, 0, 'configure'), entry(1, 0, 'upload'), entry(2, 0, 'done')]));
    const b = legendFor(buildTracks([entry(0, 0, 'upload'), entry(1, 0, 'configure'), entry(2, 0, 'done')]));
    expect(Object.fromEntries(a.keys.map((k) => [k.key, k.colour]))).toEqual(Object.fromEntries(b.keys.map((k) => [k.key, k.colour])));
  });
});

describe('axis ticks', () => {
  it.each([
    [9.3, 1, '9 s'],
    [0.37, 0.05, '0.35 s'],
    [123, 20, '120 s'],
    [0, 0.1, '1.0 s'],
  ])('covers 0..%s in steps of %s', (end, step, lastLabel) => {
    const ticks = timeTicks(end);
    expect(ticks[0]).toEqual({ t: 0, label: ticks[0]!.label });
    expect(ticks[1]!.t).toBeCloseTo(step, 9);
    expect(ticks.at(-1)!.label).toBe(lastLabel);
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    expect(ticks.length).toBeLessThanOrEqual(11);
  });
});

describe('drawing a few workers', () => {
  const entries = syntheticTimeline({ workers: 5, failEvery: 4, seed: 7 });
  const layout = layoutTimeline(entries, { title: 'five' });
  const svg = renderTimelineSvg(entries, { title: 'five' });

  it('draws one row per worker and one bar per state entered, at the times of the entries', () => {
    expect(layout.mode).toBe('per-worker');
    expect(layout.rows.map((r) => r.label)).toEqual(['chunk 0', 'chunk 1', 'chunk 2', 'chunk 3', 'chunk 4']);
    const spans = entries.filter((e) => e.state !== 'done' && e.state !== 'failed');
    expect(layout.bars).toHaveLength(spans.length);
    const { left, right } = layout.plot;
    const duration = Math.max(...entries.map((e) => e.t));
    const rects = stateRects(svg);
    expect(rects).toHaveLength(spans.length);
    for (const rect of rects) {
      const worker = entries.filter((e) => e.worker === rect.row).sort((a, b) => a.t - b.t);
      const at = worker.findIndex((e) => e.t === rect.from && e.state === rect.state);
      expect(at, `${rect.state} at ${rect.from} on row ${rect.row}`).toBeGreaterThanOrEqual(0);
      expect(rect.to).toBe(worker[at + 1]!.t);
      expect(rect.x).toBeCloseTo(left + (rect.from / duration) * (right - left), 1);
      expect(rect.width).toBeCloseTo(((rect.to - rect.from) / duration) * (right - left), 1);
    }
    // The longest worker's last bar ends at the right edge.
    expect(Math.max(...rects.map((r) => r.x + r.width))).toBeCloseTo(right, 1);
  });

  it('marks the failure where it happened, with its reason in a tooltip, and its row label in red', () => {
    const failed = entries.find((e) => e.state === 'failed')!;
    expect(layout.failures).toHaveLength(1);
    expect(layout.failures[0]!.t).toBe(failed.t);
    expect(layout.failures[0]!.x).toBeCloseTo(layout.x(failed.t), 6);
    const marker = svg.match(/<g class="failure" data-row="(\d+)" data-t="([\d.]+)" data-count="1"><title>([^<]*)<\/title><path d="M([\d.]+) /);
    expect(marker).not.toBeNull();
    expect(Number(marker![1])).toBe(failed.chunk);
    expect(marker![3]).toContain(failed.reason!);
    expect(marker![3]).toContain(`failed at ${failed.t} s`);
    expect(svg).toContain(`class="end failed-label">chunk ${failed.chunk}</text>`);
    expect(layout.subtitle).toBe('5 workers · 4 done · 1 failed · 7.599 s');
  });

  it('has a time axis in seconds and a legend with every state and the failure mark', () => {
    expect(layout.ticks.map((t) => t.label)).toEqual(['0 s', '1 s', '2 s', '3 s', '4 s', '5 s', '6 s', '7 s']);
    expect(layout.legend.map((l) => l.key)).toEqual(['configure', 'retrieveLoop.retrieve', 'retrieveLoop.run', 'upload', 'failed']);
    for (const tick of layout.ticks) expect(svg).toContain(`>${tick.label}</text>`);
    expect(svg).toContain('>failed (hover for the reason)</text>');
    expect(layout.counts).toBeUndefined();
  });

  it('hatches the end of a worker that never reported done or failed', () => {
    const open = [...entries, entry(1, 5, 'retrieveLoop.retrieve')];
    const l = layoutTimeline(open);
    const bar = l.bars.find((b) => b.row === 5)!;
    expect(bar.open).toBe(true);
    expect(bar.to).toBe(l.duration);
    expect(l.subtitle).toContain('1 unfinished');
    expect(renderTimelineSvg(open)).toContain('fill="url(#open-end)"');
    expect(svg).not.toContain('fill="url(#open-end)"');
  });

  it('is a well-formed SVG document, even with markup and control characters in names and reasons', () => {
    expect(xmlProblems(svg)).toEqual([]);
    const nasty = [entry(0, 0, 'a<b>&"c\''), entry(1, 0, 'failed', 'FAIL(retrieve: k\u0000/tmp/x <oops> & "more")')];
    const text = renderTimelineSvg(nasty, { title: 'x & <y>' });
    expect(xmlProblems(text)).toEqual([]);
    expect(text).toContain('a&lt;b&gt;&amp;&quot;c&#39;');
    expect(text).toContain('FAIL(retrieve: k/tmp/x &lt;oops&gt; &amp; &quot;more&quot;)');
    expect(text).not.toContain('\u0000');
  });

  it('checks its own XML checker against broken documents', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a < b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg></svg><svg></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg x=1></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a &amp; b</text><rect x="1"/></svg>')).toEqual([]);
  });

  it('draws a single failed line and a run where every entry is at 0 s', () => {
    const onlyFailure = layoutTimeline([entry(0, 0, 'failed', 'FAIL(no)')]);
    expect(onlyFailure.bars).toEqual([]);
    expect(onlyFailure.failures).toHaveLength(1);
    expect(xmlProblems(renderTimelineSvg([entry(0, 0, 'a'), entry(0, 1, 'b')]))).toEqual([]);
    expect(renderTimelineSvg([entry(0, 0, 'a')])).not.toContain('NaN');
  });

  it('is deterministic', () => {
    expect(renderTimelineSvg(entries, { title: 'five' })).toBe(svg);
  });
});

describe('drawing thousands of workers', () => {
  const entries = syntheticTimeline({ workers: 5000, failEvery: 97 });
  const failed = entries.filter((e) => e.state === 'failed');
  const layout = layoutTimeline(entries);

  it('buckets workers into rows that fit, and says so in the legend', () => {
    expect(layout.mode).toBe('bucketed');
    expect(layout.workers).toBe(5000);
    expect(layout.rows.length).toBeLessThanOrEqual(150);
    expect(layout.rows[0]!.label).toBe('chunks 0–33');
    expect(layout.rows.at(-1)!.label).toBe('chunks 4998–4999');
    expect(layout.height).toBeLessThan(1400);
    expect(layout.legendNote.join(' ')).toContain('5,000 workers in 148 rows of 34 (by chunk)');
    expect(layout.legendNote.join(' ')).toContain('how many workers are in each state over time');
    // Cells are merged into runs: far fewer bars than workers times states.
    expect(layout.bars.length).toBeLessThan(entries.length / 2);
    for (const bar of layout.bars) expect(bar.width).toBeGreaterThan(0);
  });

  it('shows how many workers are in each state over time', () => {
    const counts = layout.counts!;
    expect(counts.areas.map((a) => a.key)).toEqual(['configure', 'retrieveLoop.retrieve', 'retrieveLoop.run', 'upload']);
    // Synthetic workers all arrive within ~3 s and work ~4 s, so nearly all run at once at some point.
    const busiest = countAt(entries, 3.5);
    expect(counts.max).toBeGreaterThanOrEqual(busiest * 0.9);
    expect(counts.max).toBeLessThanOrEqual(5000);
  });

  it('marks every failure, a few per marker, with reasons in the tooltip', () => {
    expect(failed.length).toBeGreaterThan(40);
    expect(layout.failures.reduce((n, f) => n + f.count, 0)).toBe(failed.length);
    const first = layout.failures[0]!;
    expect(first.tooltip).toMatch(/^\d+ failed:\nchunk \d+ \(worker \d+\) at [\d.]+ s: FAIL\(retrieve: NoSuchKey/);
  });

  it('is well-formed and of a sane size', () => {
    const svg = renderTimelineSvg(entries);
    expect(svg.length).toBeLessThan(5_000_000);
    expect(xmlProblems(svg)).toEqual([]);
  });

  it('switches to buckets exactly past maxRows', () => {
    const few = syntheticTimeline({ workers: 20 });
    expect(layoutTimeline(few, { maxRows: 20 }).mode).toBe('per-worker');
    const l = layoutTimeline(few, { maxRows: 19 });
    expect(l.mode).toBe('bucketed');
    expect(l.rows).toHaveLength(10);
  });
});

/** Workers in some state at time t, straight from the entries. */
function countAt(entries: readonly TimelineEntry[], t: number): number {
  const last = new Map<number, string>();
  for (const e of [...entries].sort((a, b) => a.t - b.t)) if (e.t <= t) last.set(e.worker, e.state);
  return [...last.values()].filter((s) => s !== 'done' && s !== 'failed').length;
}

describe('the HTML page', () => {
  it.each([
    ['5 workers', syntheticTimeline({ workers: 5, failEvery: 4 })],
    ['5,000 workers', syntheticTimeline({ workers: 5000, failEvery: 97 })],
  ])('is self-contained for %s', (_name, entries) => {
    const html = renderTimelineHtml(entries, { title: 'job' });
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/@import|@font-face/i);
    expect(html).not.toMatch(/url\((?!#)/);
    expect(html).not.toMatch(/\ssrc=/i);
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6);
    expect(xmlProblems(svg)).toEqual([]);
  });

  it('lists the failures with their reasons, escaped', () => {
    const html = renderTimelineHtml([entry(0, 0, 'run'), entry(2, 0, 'failed', 'FAIL(<b>bad</b>)'), entry(0, 1, 'run'), entry(1, 1, 'done')]);
    expect(html).toContain('<h2>Failures (1)</h2>');
    expect(html).toContain('<tr><td>0</td><td>0</td><td>2 s</td><td>FAIL(&lt;b&gt;bad&lt;/b&gt;)</td></tr>');
    expect(renderTimelineHtml([entry(0, 0, 'run'), entry(1, 0, 'done')])).not.toContain('Failures');
  });
});

describe('writing plot files', () => {
  const tempDir = useTempDirs('file');
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('xc-plot-write-');
  });

  it('takes the format from the extension', () => {
    expect(plotFormat('a/timeline.svg')).toBe('svg');
    expect(plotFormat('timeline.HTML')).toBe('html');
    expect(plotFormat('timeline.htm')).toBe('html');
    expect(() => plotFormat('timeline.png')).toThrow(ConfigError);
    expect(() => plotFormat('timeline')).toThrow(/name it \.html or \.svg/);
  });

  it('writes SVG or HTML from in-memory entries (what run --plot calls)', async () => {
    const entries = syntheticTimeline({ workers: 3 });
    await writeTimelinePlot(join(dir, 'p.svg'), entries);
    await writeTimelinePlot(join(dir, 'p.html'), entries, { title: 'in memory' });
    expect(await readFile(join(dir, 'p.svg'), 'utf8')).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns=/);
    expect(await readFile(join(dir, 'p.html'), 'utf8')).toContain('<title>in memory</title>');
    await expect(writeTimelinePlot(join(dir, 'e.html'), [])).rejects.toThrow(/no timeline entries/);
    await expect(writeTimelinePlot(join(dir, 'p.png'), entries)).rejects.toThrow(ConfigError);
    await expect(writeTimelinePlot(join(dir, 'p.svg'), entries, { width: 10 })).rejects.toThrow(/width must be a whole number >= 480/);
  });
});

describe('xc-orch plot', () => {
  const tempDir = useTempDirs('file');
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('xc-plot-cli-');
  });

  const plot = (args: string[]) => captureOutput(() => plotCommand(args));

  it('writes the plot, reporting skipped lines on stderr', async () => {
    const output = join(dir, 'bad.svg');
    const result = await plot([join(FIXTURES, 'malformed.jsonl'), '-o', output]);
    expect(result).toEqual({ code: 0, stdout: `${output}\n`, stderr: `xc-orch plot: skipped 5 malformed lines in ${join(FIXTURES, 'malformed.jsonl')} (first at line 3)\n` });
    const svg = await readFile(output, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('FAIL(no such variable inkey)');
  });

  it('fails clearly on a missing file, a bad extension, a bad number and no argument', async () => {
    const missing = join(dir, 'missing.jsonl');
    expect(await plot([missing, '-o', join(dir, 'x.html')])).toEqual({ code: 2, stdout: '', stderr: `xc-orch plot: cannot read timeline ${missing}: no such file\n` });
    expect((await plot([join(FIXTURES, 'five-workers.jsonl'), '-o', join(dir, 'x.png')])).stderr).toMatch(/name it \.html or \.svg/);
    expect((await plot([join(FIXTURES, 'five-workers.jsonl'), '-o', join(dir, 'x.html'), '--width', 'wide'])).stderr).toMatch(/--width expects a whole number/);
    expect(await plot([])).toMatchObject({ code: 2, stderr: expect.stringMatching(/missing the timeline file/) });
    expect((await plot(['--nope'])).code).toBe(2);
  });

  it('prints its help', async () => {
    const result = await plot(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: xc-orch plot TIMES.jsonl');
  });

  // Through the real entry point, as a user runs it (dist/ is built by `npm test`).
  it.skipIf(!existsSync(join(ROOT, 'dist/cli/plot.js')))('runs as `xc-orch plot` in a child process, defaulting to TIMES.html', async () => {
    const input = join(dir, 'times.jsonl');
    await writeFile(input, await readFile(join(FIXTURES, 'five-workers.jsonl')));
    const { code, stdout, stderr } = await runCli(['plot', input]);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(`${join(dir, 'times.html')}\n`);
    expect(stderr).toBe('');
    const html = await readFile(join(dir, 'times.html'), 'utf8');
    expect(html).toContain('<title>times.jsonl</title>');
    expect(html).toContain('5 workers · 4 done · 1 failed');
  });
});
