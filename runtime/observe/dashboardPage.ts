/**
 * The live dashboard's page: one self-contained HTML document (inline style and script, no
 * network beyond its own server, no external fonts). It opens `/events` (server-sent events): a
 * `full` message with every cell, then `update` messages with the counts and only the cells that
 * changed, and a final one with `finished`. Clicking a cell fetches `/api/worker?chunk=N`: that
 * worker's state history and last messages (commands and answers; never its payload).
 *
 * Elements the browser test reads: `#count-waiting`, `#count-connected`, `#count-done`,
 * `#count-failed`, `#launched`, `#job-state` (`running`, `finished`, `failed`), `.cell[data-chunk]`
 * with `data-kind` (`waiting`, `active`, `done`, `failed`), `#detail`, and for a job with an embedded
 * relay `#relay` with `#relay-connections`, `#relay-pairs`, `#relay-waiting`, `#relay-tombstones`,
 * `#relay-held`. The last message carries the
 * details of failed workers, so they can still be looked at after the coordinator has exited.
 *
 * @example response.end(dashboardPage('png2y4m · 100 chunks'));
 */

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function dashboardPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · xc-orch</title>
<style>
  :root { --waiting: #d9d9d9; --done: #59a14f; --skipped: #b5d9a8; --failed: #d62728; --ink: #222; --muted: #666; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); background: #fafafa; }
  header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #fff; border-bottom: 1px solid #e3e3e3; }
  h1 { font-size: 18px; margin: 0; }
  #job-state { padding: 2px 10px; border-radius: 10px; font-weight: 600; background: #4e79a7; color: #fff; }
  #job-state[data-state="finished"] { background: var(--done); }
  #job-state[data-state="failed"] { background: var(--failed); }
  #job-state[data-state="disconnected"] { background: #999; }
  #elapsed { color: var(--muted); font-variant-numeric: tabular-nums; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 16px; padding: 16px 20px; }
  .panel { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 14px; }
  .counts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin-bottom: 12px; }
  .count { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 8px 12px; }
  .count b { display: block; font-size: 26px; font-variant-numeric: tabular-nums; }
  .count span { color: var(--muted); }
  .count.done b { color: var(--done); } .count.failed b { color: var(--failed); }
  .bar { height: 8px; background: #eee; border-radius: 4px; overflow: hidden; margin: 4px 0 8px; }
  .bar div { height: 100%; background: #4e79a7; width: 0; }
  #grid { display: flex; flex-wrap: wrap; gap: 2px; margin-top: 8px; }
  .cell { width: var(--cell, 14px); height: var(--cell, 14px); border-radius: 2px; background: var(--waiting); cursor: pointer; }
  .cell[data-kind="done"] { background: var(--done); }
  .cell[data-kind="failed"] { background: var(--failed); }
  .cell[data-kind="skipped"] { background: var(--skipped); }
  .cell.selected { outline: 2px solid #000; outline-offset: 1px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #f0f0f0; vertical-align: top; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
  .muted { color: var(--muted); }
  #detail pre { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12px; }
  .msg-out { color: #1f4e79; } .msg-in { color: #2d6a2d; }
  h2 { font-size: 14px; margin: 0 0 6px; }
  section + section { margin-top: 14px; }
</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <span id="job-state" data-state="running">running</span>
  <span id="elapsed">0.0 s</span>
</header>
<main>
  <div>
    <div class="counts">
      <div class="count"><b id="count-waiting">0</b><span>waiting</span></div>
      <div class="count"><b id="count-connected">0</b><span>connected</span></div>
      <div class="count done"><b id="count-done">0</b><span>done</span></div>
      <div class="count failed"><b id="count-failed">0</b><span>failed</span></div>
    </div>
    <div class="panel">
      <div>Launched <b id="launched">0</b> of <span id="expected">0</span> workers<span id="launch-failed-note" class="muted"></span></div>
      <div class="bar"><div id="launch-bar"></div></div>
      <div>Finished <b id="finished-count">0</b> of <span id="parts">0</span> chunks · <span id="throughput">–</span></div>
      <div class="bar"><div id="done-bar" style="background: var(--done)"></div></div>
      <div id="recovery" class="muted">–</div>
      <div>Cost: <span id="cost">–</span></div>
      <div id="grid" aria-label="one cell per chunk, coloured by its worker's state"></div>
    </div>
  </div>
  <aside>
    <section class="panel">
      <h2>Workers per state</h2>
      <table id="states"><tbody></tbody></table>
    </section>
    <section class="panel" id="relay" hidden>
      <h2>Relay</h2>
      <table><tbody>
        <tr><td>connections</td><td class="n" id="relay-connections">0</td></tr>
        <tr><td>pairs</td><td class="n" id="relay-pairs">0</td></tr>
        <tr><td>waiting for a partner</td><td class="n" id="relay-waiting">0</td></tr>
        <tr><td>tombstones</td><td class="n" id="relay-tombstones">0</td></tr>
        <tr><td>bytes held</td><td class="n" id="relay-held">0</td></tr>
        <tr><td>relayed</td><td class="n" id="relay-relayed">0</td></tr>
        <tr><td>refused</td><td class="n" id="relay-refused">0</td></tr>
      </tbody></table>
    </section>
    <section class="panel" id="detail"><span class="muted">Click a cell to see its worker's history and last messages.</span></section>
  </aside>
</main>
<script>
(() => {
  const PALETTE = ['#4e79a7', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#499894', '#b6992d', '#86bcb6', '#d37295', '#a0cbe8', '#ffbe7d'];
  const $ = (id) => document.getElementById(id);
  const grid = $('grid');
  let names = [];
  let cells = [];
  let offset = 0;
  let selected = -1;
  // Details of failed workers arrive with the last message: they stay viewable once the job is over.
  const kept = new Map();

  const colourOf = (name) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
    return PALETTE[h % PALETTE.length];
  };
  const paint = (i, state, kind) => {
    const cell = cells[i];
    if (!cell) return;
    cell.dataset.kind = kind;
    const name = state >= 0 ? names[state] : '';
    cell.dataset.state = name;
    cell.style.background = kind === 'active' ? colourOf(name) : '';
    cell.title = 'chunk ' + (offset + i) + (name ? ': ' + name : ': waiting') + (kind === 'failed' ? ' (failed)' : '');
  };
  const build = (parts) => {
    grid.textContent = '';
    cells = [];
    const size = parts <= 200 ? 18 : parts <= 1000 ? 12 : parts <= 5000 ? 8 : 5;
    grid.style.setProperty('--cell', size + 'px');
    grid.style.gap = size > 8 ? '2px' : '1px';
    const fragment = document.createDocumentFragment();
    for (let i = 0; i < parts; i++) {
      const cell = document.createElement('div');
      cell.className = 'cell';
      cell.dataset.chunk = String(offset + i);
      cell.dataset.kind = 'waiting';
      cells.push(cell);
      fragment.appendChild(cell);
    }
    grid.appendChild(fragment);
  };
  const text = (id, value) => { const el = $(id); if (el.textContent !== String(value)) el.textContent = String(value); };
  const apply = (m) => {
    if (m.names) names = m.names;
    const c = m.counts;
    text('count-waiting', c.waiting);
    text('count-connected', c.connected);
    text('count-done', c.done);
    text('count-failed', c.failed);
    text('launched', c.launched);
    text('expected', c.expected);
    text('parts', c.parts);
    text('finished-count', c.done + c.failed + c.skipped);
    text('recovery', 'Retries ' + c.retries + ' · speculative copies ' + c.speculative + ' · cancelled ' + c.cancelled + ' · skipped (resumed) ' + c.skipped);
    text('cost', c.costText);
    text('launch-failed-note', c.launchFailed > 0 ? ' · ' + c.launchFailed + ' launch failures' : '');
    $('launch-bar').style.width = (100 * Math.min(1, (c.launched + c.launchFailed) / Math.max(1, c.expected))) + '%';
    $('done-bar').style.width = (100 * Math.min(1, (c.done + c.failed + c.skipped) / Math.max(1, c.parts))) + '%';
    text('elapsed', (m.elapsedMs / 1000).toFixed(1) + ' s');
    const t = m.throughput;
    text('throughput', t.chunksPerS.toFixed(2) + ' chunks/s · ' + t.framesPerS.toFixed(1) + ' frames/s (last 5 s: ' + t.recentChunksPerS.toFixed(2) + ' chunks/s)');
    for (const [i, state, kind] of m.cells) paint(i, state, kind);
    const body = $('states').tBodies[0];
    body.textContent = '';
    for (const [name, n] of m.perState) {
      const row = body.insertRow();
      const label = row.insertCell();
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colourOf(name);
      label.append(swatch, name);
      const count = row.insertCell();
      count.className = 'n';
      count.textContent = String(n);
    }
    if (m.perState.length === 0) body.insertRow().insertCell().textContent = 'no worker running';
    if (m.relay) {
      const r = m.relay;
      $('relay').hidden = false;
      text('relay-connections', r.connections);
      text('relay-pairs', r.pairs);
      text('relay-waiting', r.waiting);
      text('relay-tombstones', r.tombstones);
      text('relay-held', r.heldBytes + ' B in ' + r.heldFrames + ' frames');
      text('relay-relayed', r.relayedBytes + ' B in ' + r.relayedFrames + ' frames');
      text('relay-refused', r.refused + (r.refusedFrames + r.expiredFrames > 0 ? ' · frames lost ' + (r.refusedFrames + r.expiredFrames) : ''));
    }
    if (m.finished) {
      for (const detail of m.finished.failures) kept.set(detail.chunk, detail);
      const state = $('job-state');
      state.dataset.state = m.finished.ok ? 'finished' : 'failed';
      state.textContent = m.finished.ok ? 'finished' : 'failed';
      if (selected >= 0) show(selected);
    }
  };

  const show = async (i) => {
    selected = i;
    for (const cell of grid.querySelectorAll('.selected')) cell.classList.remove('selected');
    cells[i]?.classList.add('selected');
    const detail = $('detail');
    let info = kept.get(offset + i);
    if (!info) {
      try {
        const response = await fetch('/api/worker?chunk=' + (offset + i));
        info = response.ok ? await response.json() : { error: response.status === 404 ? 'no worker has had this chunk yet' : 'HTTP ' + response.status };
      } catch {
        info = { error: 'the coordinator is gone (the job is over); details of failed workers stay here' };
      }
    }
    detail.textContent = '';
    const h = document.createElement('h2');
    h.textContent = 'Chunk ' + (offset + i) + (info.worker !== undefined ? ' · worker ' + info.worker : '') + (info.attempt > 1 ? ' · attempt ' + info.attempt : '');
    detail.appendChild(h);
    if (info.error) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = info.error;
      detail.appendChild(p);
      return;
    }
    const status = document.createElement('p');
    status.id = 'detail-status';
    status.textContent = info.status + (info.state ? ' in ' + info.state : '') + (info.reason ? ': ' + info.reason : '');
    detail.appendChild(status);
    const table = (rows, head) => {
      const t = document.createElement('table');
      const hr = t.createTHead().insertRow();
      for (const cell of head) { const th = document.createElement('th'); th.textContent = cell; hr.appendChild(th); }
      const body = t.createTBody();
      for (const row of rows) {
        const tr = body.insertRow();
        for (const [value, cls] of row) { const td = tr.insertCell(); td.textContent = value; if (cls) td.className = cls; }
      }
      return t;
    };
    const h3 = document.createElement('h2');
    h3.textContent = 'History' + (info.historyDropped ? ' (last ' + info.history.length + ')' : '');
    detail.append(h3, table(info.history.map((e) => [[e.t.toFixed(3), 'n'], [e.state]]), ['s', 'state']));
    const h4 = document.createElement('h2');
    h4.textContent = 'Last messages';
    h4.style.marginTop = '10px';
    detail.append(h4, table(info.messages.map((e) => [[e.t.toFixed(3), 'n'], [e.direction === 'out' ? '→' : '←', e.direction === 'out' ? 'msg-out' : 'msg-in'], [e.text]]), ['s', '', 'text']));
  };
  grid.addEventListener('click', (event) => {
    const chunk = event.target.dataset && event.target.dataset.chunk;
    if (chunk !== undefined) show(Number(chunk) - offset);
  });

  const events = new EventSource('/events');
  events.addEventListener('full', (e) => {
    const m = JSON.parse(e.data);
    offset = m.offset;
    names = m.names;
    build(m.counts.parts);
    apply(m);
    if (m.finished) events.close();
  });
  events.addEventListener('update', (e) => {
    const m = JSON.parse(e.data);
    apply(m);
    if (m.finished) events.close();
  });
  events.onerror = () => {
    const state = $('job-state');
    if (state.dataset.state === 'running') { state.dataset.state = 'disconnected'; state.textContent = 'disconnected'; }
  };
  events.onopen = () => {
    const state = $('job-state');
    if (state.dataset.state === 'disconnected') { state.dataset.state = 'running'; state.textContent = 'running'; }
  };
})();
</script>
</body>
</html>
`;
}
