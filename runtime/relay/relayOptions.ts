/**
 * The relay's options, their defaults, and their compiled form (every field present, times in ms,
 * sizes in bytes). The options a user sets (`xc-orch rendezvous`) are a table with their defaults;
 * compiled once in {@link compileRelayOptions}; nothing downstream re-checks them.
 */
import { pino, type Logger } from 'pino';
import { ConfigError } from '../../common/errors.js';
import { optionTable } from '../../common/optionTable.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../protocol/frame.js';
import { MIN_BACKLOG, type ServerCredentials } from '../tls/mutualTlsServer.js';

/** Where the relay listens and what it holds: the defaults of {@link RelayOptions} and the command's flags. */
export const RELAY_OPTIONS = optionTable({
  // mu's rendezvous port.
  port: { flag: 'port', short: 't', type: 'integer', min: 0, max: 65535, default: 13337, help: 'TLS port to listen on (0: any free port)' },
  host: { flag: 'host', type: 'string', arg: 'ADDR', default: '0.0.0.0', help: 'interface to listen on (workers dial in from elsewhere)' },
  // mu kept the frames of a departed sender this long.
  tombstoneTimeoutS: { flag: 'tombstone-timeout', type: 'seconds', default: 600, help: 'seconds frames wait for their partner after their sender left' },
  // Room for the states of a few hundred ExCamera chunks (0.7 MB each) waiting for their partners.
  maxHeldBytes: { flag: 'max-held-bytes', type: 'integer', min: 1, max: 2 ** 40, default: 2 ** 30, help: 'bytes held for partners not connected yet, all senders together' },
});

/** As the coordinator's: long enough for thousands of handshakes queued on one busy core. */
export const DEFAULT_RELAY_HELLO_TIMEOUT_MS = 30_000;
export interface RelayOptions {
  /** The run's CA (the only issuer admitted) and the relay's own certificate and key. */
  credentials: ServerCredentials;
  /** Interface to listen on. Default in {@link RELAY_OPTIONS}, as for the fields below. */
  host?: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** How long frames are kept for their partner after their sender left. */
  tombstoneTimeoutMs?: number;
  /** Bound on the bytes held for partners not connected, all senders together. */
  maxHeldBytes?: number;
  /** Largest frame accepted, in bytes. Default {@link DEFAULT_MAX_FRAME_BYTES} (64 MiB). */
  maxFrameBytes?: number;
  /** Time allowed for the TLS handshake, and then again for the hello. Default 30 s. */
  helloTimeoutMs?: number;
  /** Listen backlog. Default 1024 (the kernel caps it at somaxconn). */
  backlog?: number;
  /** TCP keep-alive probe delay, so that vanished workers are noticed. Default 60 s; 0 disables. */
  keepAliveMs?: number;
  /** Default: silent. Refusals at debug level, lost frames at warn; never a key or certificate. */
  logger?: Logger;
}

export interface CompiledRelayOptions {
  credentials: ServerCredentials;
  host: string;
  port: number;
  tombstoneTimeoutMs: number;
  maxHeldBytes: number;
  maxFrameBytes: number;
  helloTimeoutMs: number;
  backlog: number;
  keepAliveMs: number;
  logger: Logger;
}

/** @example compileRelayOptions({ credentials, port: 0 }).tombstoneTimeoutMs // 600000 */
export function compileRelayOptions(options: RelayOptions): CompiledRelayOptions {
  const { credentials } = options;
  if (!credentials?.caCert || !credentials.serverCert || !credentials.serverKey) {
    throw new ConfigError('the relay needs the CA certificate, a server certificate and its key');
  }
  const port = options.port ?? RELAY_OPTIONS.port.default;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid relay port ${port}`);
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number (got ${value})`);
    return value;
  };
  const keepAliveMs = options.keepAliveMs ?? 60_000;
  if (!Number.isFinite(keepAliveMs) || keepAliveMs < 0) throw new ConfigError(`keepAliveMs must be 0 or more (got ${keepAliveMs})`);
  return {
    credentials,
    host: options.host ?? RELAY_OPTIONS.host.default,
    port,
    tombstoneTimeoutMs: positive('tombstoneTimeoutMs', options.tombstoneTimeoutMs ?? RELAY_OPTIONS.tombstoneTimeoutS.default * 1000),
    maxHeldBytes: positive('maxHeldBytes', options.maxHeldBytes ?? RELAY_OPTIONS.maxHeldBytes.default),
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
    helloTimeoutMs: positive('helloTimeoutMs', options.helloTimeoutMs ?? DEFAULT_RELAY_HELLO_TIMEOUT_MS),
    backlog: positive('backlog', options.backlog ?? MIN_BACKLOG),
    keepAliveMs,
    logger: options.logger ?? pino({ level: 'silent' }),
  };
}
