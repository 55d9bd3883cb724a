/**
 * The one way to get a logger: pino, structured, on stderr, quiet by default (`warn`), so stdout
 * stays for results. `XC_LOG_LEVEL` overrides the level; `-D` asks for `debug`. Secrets are never
 * passed to a logger; the redact list is a second line of defence for fields that might carry them.
 *
 * @example const log = createLogger({ name: 'coordinator', debug: options.debug });
 */
import pino, { type Logger } from 'pino';

export const REDACTED_FIELDS = [
  'cacert',
  'wrkcert',
  'wrkkey',
  'caKey',
  'serverKey',
  'workerKey',
  '*.cacert',
  '*.wrkcert',
  '*.wrkkey',
  '*.caKey',
  '*.serverKey',
  '*.workerKey',
];

export function createLogger(options: { name: string; debug?: boolean; level?: string }): Logger {
  const level = options.level ?? (options.debug ? 'debug' : process.env.XC_LOG_LEVEL ?? 'warn');
  return pino({ name: options.name, level, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' } }, pino.destination({ fd: 2, sync: true }));
}
