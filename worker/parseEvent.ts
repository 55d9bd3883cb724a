/**
 * Check an invocation payload and fill in mu's defaults, once, at the edge: everything past this
 * point can trust a {@link WorkerEvent}. Error messages name fields, never their contents, since
 * the payload carries the worker's private key.
 */
import { ConfigError } from '../common/errors.js';
import { DEFAULT_BUCKET } from '../store/openStore.js';
import { DEFAULT_COORDINATOR_PORT } from '../protocol/messages.js';
import type { WorkerEvent } from './event.js';
import { isMuPayload, readMuCredentials, type MuCredentials } from './muPayload.js';

/** The AWS region when none is named: the worker's S3 store, a run's Lambda regions, lambdaize's function. */
export const DEFAULT_REGION = 'us-east-1';
/** An idle worker (no command for this long) exits cleanly. */
export const DEFAULT_IDLE_TIMEOUT_S = 300;
/** Node's timers hold at most 2^31-1 ms; a longer delay fires at once, so the fields are bounded. */
export const MAX_IDLE_TIMEOUT_S = Math.floor((2 ** 31 - 1) / 1000);

const SECRET_FIELDS = ['cacert', 'wrkcert', 'wrkkey'] as const;
const TEXT_FIELDS = ['command', 'infile', 'outfile', 'quality', 'vars', 'args', 's3endpoint', 'srvname'] as const;
/** Fields mu also accepted as lists, joined with spaces as mu's worker did. */
const LIST_FIELDS: ReadonlySet<string> = new Set(['vars', 'args']);
const FLAG_DEFAULTS = {
  nonblock: 0,
  bg_silent: 0,
  rm_tmpdir: 1,
  hash_s3keys: 0,
  expect_statefile: 0,
  send_statefile: 0,
  minimal_recode: 0,
  link_tools: 0,
  files_outside_tmpdir: 0,
} as const;

/**
 * Validate `value` (parsed JSON) as a worker event. Throws one {@link ConfigError} listing every
 * problem found. Unknown fields are ignored (mu payloads carry extra ones).
 *
 * @example parseEvent(JSON.parse(text)) // { mode: 1, addr: '127.0.0.1', port: 13579, ... }
 */
export function parseEvent(value: unknown): WorkerEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('the worker event must be a JSON object');
  }
  const input = value as Record<string, unknown>;
  const problems: string[] = [];

  const mode = input.mode === undefined ? 0 : toFlag(input.mode);
  if (mode === undefined) problems.push('mode must be 0 (run the command once) or 1 (connect to the coordinator)');

  const addr = input.addr === undefined ? '127.0.0.1' : input.addr;
  if (typeof addr !== 'string' || addr === '') problems.push('addr must be a host name or address');

  const port = input.port === undefined ? DEFAULT_COORDINATOR_PORT : toInteger(input.port);
  if (port === undefined || port < 1 || port > 65535) problems.push('port must be an integer from 1 to 65535');

  // The launcher substitutes ##ID## inside the JSON text, so a quoted number is fine too.
  const id = input.id === undefined ? undefined : toInteger(input.id);
  if (input.id !== undefined && (id === undefined || id < 0 || id > 999_999_999)) {
    problems.push('id must be an integer from 0 to 999999999');
  }

  const bucket = input.bucket === undefined ? DEFAULT_BUCKET : input.bucket;
  if (typeof bucket !== 'string' || bucket === '') problems.push('bucket must be a non-empty string');
  const region = input.region === undefined ? DEFAULT_REGION : input.region;
  if (typeof region !== 'string' || region === '') problems.push('region must be a non-empty string');

  // mu's payload brings its own shape of credentials (bare base64 bodies, srvcrt/srvkey).
  const mu = isMuPayload(input);
  let muCredentials: MuCredentials | undefined;
  if (mu && (mode === 1 || input.cacert !== undefined)) muCredentials = readMuCredentials(input, problems);
  for (const field of mu ? [] : SECRET_FIELDS) {
    const text = input[field];
    if (text === undefined) {
      if (mode === 1) problems.push(`${field} is required in mode 1 (PEM text)`);
    } else if (typeof text !== 'string' || !text.includes('-----BEGIN ')) {
      problems.push(`${field} must be PEM text`);
    }
  }
  for (const field of TEXT_FIELDS) {
    const text = input[field];
    if (text === undefined || typeof text === 'string') continue;
    if (LIST_FIELDS.has(field)) {
      if (!Array.isArray(text) || !text.every((item) => typeof item === 'string')) problems.push(`${field} must be a string or a list of strings`);
    } else {
      problems.push(`${field} must be a string`);
    }
  }
  if (mode === 0 && (typeof input.command !== 'string' || input.command === '')) {
    problems.push('command is required in mode 0 (the command to run once)');
  }

  const flags = {} as Record<keyof typeof FLAG_DEFAULTS, 0 | 1>;
  for (const [field, fallback] of Object.entries(FLAG_DEFAULTS) as Array<[keyof typeof FLAG_DEFAULTS, 0 | 1]>) {
    const muFallback = field === 'link_tools' && mu ? 1 : fallback;
    const flag = input[field] === undefined ? muFallback : toFlag(input[field]);
    if (flag === undefined) problems.push(`${field} must be 0 or 1`);
    flags[field] = flag ?? fallback;
  }

  const idle = input.idle_timeout_s === undefined ? DEFAULT_IDLE_TIMEOUT_S : input.idle_timeout_s;
  if (typeof idle !== 'number' || !(idle > 0) || !(idle <= MAX_IDLE_TIMEOUT_S)) {
    problems.push(`idle_timeout_s must be a positive number of seconds, at most ${MAX_IDLE_TIMEOUT_S} (about 24 days)`);
  }
  const stateWait = input.state_wait_s;
  if (stateWait !== undefined && (typeof stateWait !== 'number' || !(stateWait > 0) || !(stateWait <= MAX_IDLE_TIMEOUT_S))) {
    problems.push(`state_wait_s must be a positive number of seconds, at most ${MAX_IDLE_TIMEOUT_S} (about 24 days)`);
  }
  const runIter = input.run_iter === undefined ? undefined : toInteger(input.run_iter);
  if (input.run_iter !== undefined && runIter === undefined) problems.push('run_iter must be a non-negative integer');
  const maxFrame = input.max_frame_bytes === undefined ? undefined : toInteger(input.max_frame_bytes);
  if (input.max_frame_bytes !== undefined && (maxFrame === undefined || maxFrame < 1)) {
    problems.push('max_frame_bytes must be a positive integer');
  }

  if (problems.length > 0) throw new ConfigError(`invalid worker event: ${problems.join('; ')}`);

  const event: WorkerEvent = {
    mode: mode as 0 | 1,
    addr: addr as string,
    port: port as number,
    bucket: bucket as string,
    region: region as string,
    cacert: (input.cacert as string | undefined) ?? '',
    wrkcert: (input.wrkcert as string | undefined) ?? '',
    wrkkey: (input.wrkkey as string | undefined) ?? '',
    ...flags,
    ...muCredentials,
    idle_timeout_s: idle as number,
  };
  if (id !== undefined) event.id = id;
  if (runIter !== undefined) event.run_iter = runIter;
  if (stateWait !== undefined) event.state_wait_s = stateWait as number;
  if (maxFrame !== undefined) event.max_frame_bytes = maxFrame;
  for (const field of TEXT_FIELDS) {
    const text = input[field];
    if (typeof text === 'string') event[field] = text;
    else if (Array.isArray(text)) event[field] = text.join(' ');
  }
  return event;
}

function toInteger(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) ? number : undefined;
}

/** 0/1, also written as booleans or quoted digits (mu read flags with int()). */
function toFlag(value: unknown): 0 | 1 | undefined {
  if (value === true || value === 1 || value === '1') return 1;
  if (value === false || value === 0 || value === '0') return 0;
  return undefined;
}
