// A stand-in for `xc-orch worker --event -` in launcher tests, so that they do not depend on the
// real worker. Reads the invocation payload from stdin, then behaves as argv[2] says:
//   hello     connect over mutual TLS, say OK:HELLO:<id>, exit 0 on `quit:`
//   report    print the payload's id, a marker from the environment and the raw ##ID## check; exit 0
//   crash     complain on stderr and exit 3
//   noisy     write ~100 KB to stderr, ending with a last line, and exit 1
//   sleep     wait (until killed)
//   stubborn  ignore SIGTERM and wait (until SIGKILL)
//   pool      put <XC_FAKE_ALIVE_DIR>/<id> there, print alive=<entries in that dir>, wait 50 ms, remove it, exit 0
// Every mode gives up after 30 s so that a broken test can never leave a process behind.
// With XC_FAKE_READY_DIR set, the sleeping modes create <dir>/<id> once their signal handling is set.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';

const mode = process.argv[2] ?? 'hello';
setTimeout(() => process.exit(9), 30_000).unref();

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));

function frame(text) {
  const body = Buffer.from(text);
  return Buffer.concat([Buffer.from(`${String(body.length).padStart(12, '0')} `), body]);
}

function waitForever() {
  setInterval(() => {}, 1000);
  if (process.env.XC_FAKE_READY_DIR) writeFileSync(join(process.env.XC_FAKE_READY_DIR, String(event.id)), 'ready');
}

switch (mode) {
  case 'hello': {
    const socket = tls.connect({
      host: event.addr,
      port: event.port,
      ca: event.cacert,
      cert: event.wrkcert,
      key: event.wrkkey,
      servername: event.srvname,
    });
    socket.on('secureConnect', () => socket.write(frame(`OK:HELLO:${event.id}`)));
    let received = '';
    socket.on('data', (data) => {
      received += data.toString('utf8');
      if (received.includes('quit:')) {
        socket.end();
        process.exitCode = 0;
      }
    });
    socket.on('error', (error) => {
      process.stderr.write(`fake worker ${event.id}: ${error.message}\n`);
      process.exit(2);
    });
    break;
  }
  case 'report':
    process.stderr.write(`id=${event.id} note=${event.note} mark=${process.env.XC_FAKE_MARK ?? 'unset'}\n`);
    break;
  case 'crash':
    process.stderr.write(`fake worker ${event.id}: cannot find png2y4m on PATH\n`);
    process.exit(3);
    break;
  case 'noisy':
    for (let i = 0; i < 1000; i++) process.stderr.write(`${'x'.repeat(99)}\n`);
    process.stderr.write('the last line\n', () => process.exit(1));
    break;
  case 'pool': {
    const dir = process.env.XC_FAKE_ALIVE_DIR;
    const marker = join(dir, String(event.id));
    writeFileSync(marker, 'alive');
    process.stderr.write(`alive=${readdirSync(dir).length}\n`);
    setTimeout(() => {
      rmSync(marker);
      process.exit(0);
    }, 50);
    break;
  }
  case 'sleep':
    process.stderr.write('sleeping\n');
    waitForever();
    break;
  case 'stubborn':
    process.on('SIGTERM', () => process.stderr.write('ignoring SIGTERM\n'));
    process.stderr.write('stubborn\n');
    waitForever();
    break;
  default:
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(64);
}
