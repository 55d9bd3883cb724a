/**
 * The page `--inspect` serves: it embeds Stately's inspector (loaded from stately.ai, so the
 * browser needs internet) and hands it the inspection events that arrive on this server's
 * WebSocket. The inspector frame says `@statelyai.connected` when it is ready to listen; events
 * that come before that are held and handed over then. Everything else is on the user's machine.
 *
 * @example res.end(inspectorBridgePage('https://stately.ai/inspect'));
 */

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function inspectorBridgePage(inspectorUrl: string): string {
  const target = JSON.stringify(new URL(inspectorUrl).origin);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>xc-orch · Stately inspector</title>
<style>
  html, body { margin: 0; height: 100%; font-family: system-ui, sans-serif; }
  #bar { position: fixed; right: 8px; bottom: 8px; padding: 4px 8px; font-size: 12px; background: #fffd; border: 1px solid #ccc; border-radius: 4px; }
  iframe { border: 0; width: 100%; height: 100%; }
</style>
</head>
<body>
<iframe id="inspector" title="Stately inspector" src="${escapeAttribute(inspectorUrl)}"></iframe>
<div id="bar">xc-orch: <span id="link">connecting…</span> · <span id="count">0</span> events</div>
<script>
(() => {
  const frame = document.getElementById('inspector');
  const link = document.getElementById('link');
  const count = document.getElementById('count');
  const held = [];
  let ready = false;
  let seen = 0;
  const deliver = (event) => frame.contentWindow.postMessage(event, ${target});
  window.addEventListener('message', (message) => {
    if (message.source !== frame.contentWindow || !message.data || message.data.type !== '@statelyai.connected') return;
    ready = true;
    held.splice(0).forEach(deliver);
  });
  const connect = () => {
    const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/');
    socket.onopen = () => { link.textContent = 'live'; };
    socket.onclose = () => { link.textContent = 'job over (or server gone)'; };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      count.textContent = String(++seen);
      if (ready) deliver(event); else held.push(event);
    };
  };
  connect();
})();
</script>
</body>
</html>
`;
}
