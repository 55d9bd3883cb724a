/**
 * `xc-orch rendezvous`: the relay through which workers pass state to each other, standalone (mu's
 * lambda_state_server.py). It shares the run's CA with the workers, so it needs the certificate
 * files `xc-orch genkeys` writes; a status line on stderr; Ctrl-C closes it cleanly.
 */
import { ConfigError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { formatCommandHelp, optionTable, parseOptionArgs, resolveOptions, type OptionValues } from '../common/optionTable.js';
import { RELAY_OPTIONS, type RelayOptions } from '../runtime/relay/relayOptions.js';
import { startRelay, type Relay } from '../runtime/relay/relayServer.js';
import { relayStatusLine } from '../runtime/relay/relayStatusLine.js';
import { CREDENTIAL_ENV, CREDENTIAL_FILES, loadCredentials } from '../runtime/tls/credentials.js';
import { reportError } from './args.js';

export const RENDEZVOUS_OPTIONS = optionTable({
  port: RELAY_OPTIONS.port,
  host: RELAY_OPTIONS.host,
  caCert: { flag: 'ca-cert', short: 'c', type: 'string', arg: 'FILE', help: `the run's CA certificate (env ${CREDENTIAL_ENV.caCert})` },
  serverCert: { flag: 'server-cert', short: 's', type: 'string', arg: 'FILE', help: `the relay's certificate (env ${CREDENTIAL_ENV.serverCert})` },
  serverKey: {
    flag: 'server-key', short: 'k', type: 'string', arg: 'FILE',
    help: `its private key (env ${CREDENTIAL_ENV.serverKey}); env values may be paths or PEM text`,
  },
  tombstoneTimeoutS: RELAY_OPTIONS.tombstoneTimeoutS,
  maxHeldBytes: RELAY_OPTIONS.maxHeldBytes,
  quiet: { flag: 'quiet', short: 'q', type: 'boolean', help: 'no status line on stderr' },
  debug: { flag: 'debug', short: 'D', type: 'boolean', help: 'debug logging on stderr' },
});

export const RENDEZVOUS_HELP = formatCommandHelp({
  usage: ['xc-orch rendezvous -c CA -s CERT -k KEY [options]'],
  about: `The relay through which workers pass state to each other (mu's rendezvous server). A worker
connects over mutual TLS, says HELLO_STATE:RUN:ME:PARTNER, and every later frame it sends goes to
worker RUN_PARTNER, unchanged and in order (ids are RUN_int(N): 00000002 and 2 are the same).
Frames for a partner not connected yet are held and delivered when it connects, also after their
sender left, for --tombstone-timeout seconds; a frame past --max-held-bytes is refused and its
sender's link closed, with the reason.

The relay admits only clients whose certificate the run's CA issued, so it needs the files
'xc-orch genkeys DIR' writes, and the run must use the same ones:
  xc-orch rendezvous -c DIR/${CREDENTIAL_FILES.caCert} -s DIR/${CREDENTIAL_FILES.serverCert} -k DIR/${CREDENTIAL_FILES.serverKey}
(the worker pair beside them is checked against the same CA).`,
  tables: [RENDEZVOUS_OPTIONS],
  notes: 'Exit status: 0 after Ctrl-C or SIGTERM, 1 when the relay cannot listen, 2 for bad options.',
}, 30);

/**
 * The command line's values as the relay's options: defaults from the table, credentials read
 * (from the files or `env`), the one place this command reads the environment.
 */
export async function compileRendezvousOptions(
  values: OptionValues<typeof RENDEZVOUS_OPTIONS>,
  env: NodeJS.ProcessEnv,
): Promise<{ relay: Omit<RelayOptions, 'logger'>; quiet: boolean; debug: boolean }> {
  const o = resolveOptions(RENDEZVOUS_OPTIONS, values, env);
  const roles = ['caCert', 'serverCert', 'serverKey'] as const;
  if (roles.every((role) => (o[role] ?? '').trim() === '' && (env[CREDENTIAL_ENV[role]] ?? '').trim() === '')) {
    throw new ConfigError(
      `needs the run's CA and a certificate: -c CA -s CERT -k KEY (or env ${CREDENTIAL_ENV.caCert}, ${CREDENTIAL_ENV.serverCert}, ` +
        `${CREDENTIAL_ENV.serverKey}), such as the files 'xc-orch genkeys DIR' writes, the same the run uses (see --help)`,
    );
  }
  const credentials = await loadCredentials({ caCert: o.caCert, serverCert: o.serverCert, serverKey: o.serverKey }, env);
  return {
    relay: { credentials, host: o.host, port: o.port, tombstoneTimeoutMs: Math.round(o.tombstoneTimeoutS * 1000), maxHeldBytes: o.maxHeldBytes },
    quiet: o.quiet,
    debug: o.debug,
  };
}

/** @example await run(['-t', '0', '-c', 'keys/ca_cert.pem', '-s', 'keys/server_cert.pem', '-k', 'keys/server_key.pem']) */
export async function run(args: string[]): Promise<number> {
  let relay: Relay;
  let quiet: boolean;
  try {
    const { values, positionals, help } = parseOptionArgs(RENDEZVOUS_OPTIONS, args);
    if (help) {
      process.stdout.write(RENDEZVOUS_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}' (see --help)`);
    const options = await compileRendezvousOptions(values, process.env);
    quiet = options.quiet;
    relay = await startRelay({ ...options.relay, logger: createLogger({ name: 'relay', debug: options.debug }) });
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
