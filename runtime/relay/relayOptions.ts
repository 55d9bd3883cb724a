/**
 * The relay's options, their defaults, and their compiled form (every field present, times in ms,
 * sizes in bytes). Compiled once in {@link compileRelayOptions}; nothing downstream re-checks them.
 */
import { pino, type Logger } from 'pino';
import { ConfigError } from '../../common/errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../protocol/frame.js';

/** mu's rendezvous port. */
export const DEFAULT_RELAY_PORT = 13337;
/** mu kept the frames of a departed sender this long (600 s). */
export const DEFAULT_TOMBSTONE_TIMEOUT_MS = 600_000;
/** Room for the states of a few hundred ExCamera chunks (0.7 MB each) waiting for their partners. */
export const DEFAULT_MAX_HELD_BYTES = 1024 * 1024 * 1024;
/** As the coordinator's: long enough for thousands of handshakes queued on one busy core. */
export const DEFAULT_RELAY_HELLO_TIMEOUT_MS = 30_000;
/** Node's default listen backlog (511) stalls thousands of simultaneous connects. */
const MIN_BACKLOG = 1024;

/** PEM texts: the run's CA (the only issuer admitted) and the relay's own certificate and key. */
export interface RelayCredentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export interface RelayOptions {
  credentials: RelayCredentials;
  /** Interface to listen on. Default '0.0.0.0' (workers dial in from elsewhere). */
  host?: string;
  /** Port; 0 picks a free one. Default {@link DEFAULT_RELAY_PORT}. */
  port?: number;
  /** How long frames are kept for their partner after their sender left. Default 600 s. */
  tombstoneTimeoutMs?: number;
  /** Bound on the bytes held for partners not connected, all senders together. Default 1 GiB. */
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
  credentials: RelayCredentials;
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
  const port = options.port ?? DEFAULT_RELAY_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid relay port ${port}`);
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number (got ${value})`);
    return value;
  };
  const keepAliveMs = options.keepAliveMs ?? 60_000;
  if (!Number.isFinite(keepAliveMs) || keepAliveMs < 0) throw new ConfigError(`keepAliveMs must be 0 or more (got ${keepAliveMs})`);
  return {
    credentials,
    host: options.host ?? '0.0.0.0',
    port,
    tombstoneTimeoutMs: positive('tombstoneTimeoutMs', options.tombstoneTimeoutMs ?? DEFAULT_TOMBSTONE_TIMEOUT_MS),
    maxHeldBytes: positive('maxHeldBytes', options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES),
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
    helloTimeoutMs: positive('helloTimeoutMs', options.helloTimeoutMs ?? DEFAULT_RELAY_HELLO_TIMEOUT_MS),
    backlog: positive('backlog', options.backlog ?? MIN_BACKLOG),
    keepAliveMs,
    logger: options.logger ?? pino({ level: 'silent' }),
  };
}
