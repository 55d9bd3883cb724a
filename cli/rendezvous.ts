/**
 * `xc-orch rendezvous`: the relay through which workers pass state to each other, standalone (mu's
 * lambda_state_server.py). It shares the run's CA with the workers, so it needs the certificate
 * files `xc-orch genkeys` writes; a status line on stderr; Ctrl-C closes it cleanly.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { DEFAULT_MAX_HELD_BYTES, DEFAULT_RELAY_PORT, DEFAULT_TOMBSTONE_TIMEOUT_MS } from '../runtime/relay/relayOptions.js';
import { startRelay, type Relay } from '../runtime/relay/relayServer.js';
import { relayStatusLine } from '../runtime/relay/relayStatusLine.js';
import { CREDENTIAL_ENV, CREDENTIAL_FILES, loadCredentials } from '../runtime/tls/credentials.js';
import { intOption, numberOption, reportError } from './args.js';

export const RENDEZVOUS_HELP = `Usage: xc-orch rendezvous -c CA -s CERT -k KEY [options]

The relay through which workers pass state to each other (mu's rendezvous server). A worker
connects over mutual TLS, says HELLO_STATE:RUN:ME:PARTNER, and every later frame it sends goes to
worker RUN_PARTNER, unchanged and in order (ids are RUN_int(N): 00000002 and 2 are the same).
Frames for a partner not connected yet are held and delivered when it connects, also after their
sender left, for --tombstone-timeout seconds; a frame past --max-held-bytes is refused and its
sender's link closed, with the reason.

The relay admits only clients whose certificate the run's CA issued, so it needs the files
'xc-orch genkeys DIR' writes, and the run must use the same ones:
  xc-orch rendezvous -c DIR/${CREDENTIAL_FILES.caCert} -s DIR/${CREDENTIAL_FILES.serverCert} -k DIR/${CREDENTIAL_FILES.serverKey}
(the worker pair beside them is checked against the same CA).

Options:
  -t, --port N               TLS port to listen on (0: any free port)      [${DEFAULT_RELAY_PORT}]
      --host ADDR            interface to listen on                        [0.0.0.0]
  -c, --ca-cert FILE         CA certificate        (env ${CREDENTIAL_ENV.caCert})
  -s, --server-cert FILE     the relay's certificate (env ${CREDENTIAL_ENV.serverCert})
  -k, --server-key FILE      its private key       (env ${CREDENTIAL_ENV.serverKey}); env values may be paths or PEM text
      --tombstone-timeout S  seconds frames wait for their partner after their sender left [${DEFAULT_TOMBSTONE_TIMEOUT_MS / 1000}]
      --max-held-bytes N     bytes held for partners not connected, all together [${DEFAULT_MAX_HELD_BYTES}]
  -q, --quiet                no status line on stderr
  -D, --debug                debug logging on stderr
  -h, --help                 this help

Exit status: 0 after Ctrl-C or SIGTERM, 1 when the relay cannot listen, 2 for bad options.
`;

/** @example await run(['-t', '0', '-c', 'keys/ca_cert.pem', '-s', 'keys/server_cert.pem', '-k', 'keys/server_key.pem']) */
export async function run(args: string[]): Promise<number> {
  let relay: Relay;
  let quiet: boolean;
  try {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        port: { type: 'string', short: 't' },
        host: { type: 'string' },
        'ca-cert': { type: 'string', short: 'c' },
        'server-cert': { type: 'string', short: 's' },
        'server-key': { type: 'string', short: 'k' },
        'tombstone-timeout': { type: 'string' },
        'max-held-bytes': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        debug: { type: 'boolean', short: 'D' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(RENDEZVOUS_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}' (see --help)`);
    const envNames = [CREDENTIAL_ENV.caCert, CREDENTIAL_ENV.serverCert, CREDENTIAL_ENV.serverKey];
    const given = [values['ca-cert'], values['server-cert'], values['server-key'], ...envNames.map((name) => process.env[name])];
    if (given.every((value) => value === undefined || value.trim() === '')) {
      throw new ConfigError(
        `needs the run's CA and a certificate: -c CA -s CERT -k KEY (or env ${CREDENTIAL_ENV.caCert}, ${CREDENTIAL_ENV.serverCert}, ` +
          `${CREDENTIAL_ENV.serverKey}), such as the files 'xc-orch genkeys DIR' writes, the same the run uses (see --help)`,
      );
    }
    const tombstoneS = numberOption('--tombstone-timeout', values['tombstone-timeout']);
    if (tombstoneS !== undefined && !(tombstoneS > 0)) throw new ConfigError(`--tombstone-timeout must be more than 0 seconds, got ${tombstoneS}`);
    const credentials = await loadCredentials({ caCert: values['ca-cert'], serverCert: values['server-cert'], serverKey: values['server-key'] });
    quiet = values.quiet === true;
    relay = await startRelay({
      credentials,
      host: values.host,
      port: intOption('--port', values.port),
      tombstoneTimeoutMs: tombstoneS === undefined ? undefined : tombstoneS * 1000,
      maxHeldBytes: intOption('--max-held-bytes', values['max-held-bytes']),
      logger: createLogger({ name: 'relay', debug: values.debug === true }),
    });
  } catch (error) {
    return reportError('rendezvous', error);
  }

  const { host, port } = relay.address();
  process.stderr.write(`rendezvous: listening on ${host}:${port}\n`);
  const started = performance.now();
  const line = () => relayStatusLine(relay.status(), performance.now() - started);
  const tty = process.stderr.isTTY === true;
  // On a terminal one line redrawn in place; elsewhere (logs) a line every 5 s.
  const timer = quiet ? undefined : setInterval(() => process.stderr.write(tty ? `\r\x1b[K${line()}` : `${line()}\n`), tty ? 1000 : 5000);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A second Ctrl-C while closing: leave at once.
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  await relay.close();
  process.stderr.write(`${tty && !quiet ? '\r\x1b[K' : ''}rendezvous: closed; ${line()}\n`);
  return 0;
}
