/**
 * The mu command vocabulary, defined once and shared by the coordinator's machines and the worker.
 * Commands are `name:argument`; answers start with `OK`, `FAIL(` or `INFO:`. Machines match
 * expected answers by prefix (mu-reference section 3).
 */

/** mu's coordinator port: where workers dial back unless told otherwise. */
export const DEFAULT_COORDINATOR_PORT = 13579;

export const COMMAND_NAMES = [
  'set',
  'seti',
  'get',
  'geti',
  'dump_vals',
  'retrieve',
  'upload',
  'run',
  'echo',
  'quit',
  'connect',
  'close_connect',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** The first frame a worker sends. A worker launched with an invocation number appends `:ID`. */
export const HELLO = 'OK:HELLO';

/** The answer each command's success starts with, used when a step names no expectation. */
const DEFAULT_EXPECT: Readonly<Record<CommandName, string>> = {
  set: 'OK:SET',
  seti: 'OK:SETI',
  get: 'OK:GET',
  geti: 'OK:GETI',
  dump_vals: 'OK:DUMP_VALS',
  retrieve: 'OK:RETRIEV',
  upload: 'OK:UPLOAD',
  run: 'OK:R',
  echo: 'OK:ECHO',
  quit: 'OK',
  connect: 'OK:CONNECT',
  close_connect: 'OK:CLOSE_CONNECT',
};

/** Split `name:argument` at the first colon (the argument may contain colons and NULs). */
export function splitCommand(text: string): { name: string; arg: string } {
  const colon = text.indexOf(':');
  return colon < 0 ? { name: text, arg: '' } : { name: text.slice(0, colon), arg: text.slice(colon + 1) };
}

export function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/**
 * The answer prefix that acknowledges `command` (mu's rule: `set:` -> `OK:SET`, unknown -> `OK`).
 *
 * @example defaultExpect('retrieve:') // 'OK:RETRIEV' (matches OK:RETRIEVE and OK:RETRIEVING)
 */
export function defaultExpect(command: string): string {
  const { name } = splitCommand(command);
  return isCommandName(name) ? DEFAULT_EXPECT[name] : 'OK';
}

export function isFail(answer: string): boolean {
  return answer.startsWith('FAIL');
}

/** `INFO:K:V` answers update the worker's info record and never drive transitions. */
export function parseInfo(answer: string): { key: string; value: string } | undefined {
  if (!answer.startsWith('INFO:')) return undefined;
  const rest = answer.slice(5);
  const colon = rest.indexOf(':');
  return colon < 0 ? { key: rest, value: '' } : { key: rest.slice(0, colon), value: rest.slice(colon + 1) };
}

/**
 * Parse a worker's first frame: `OK:HELLO` or `OK:HELLO:ID`. Returns undefined for anything else
 * (such a client is dropped and never counted as a worker).
 */
export function parseHello(frame: string): { invocation?: number } | undefined {
  if (frame === HELLO) return {};
  if (!frame.startsWith(`${HELLO}:`)) return undefined;
  const id = frame.slice(HELLO.length + 1);
  if (!/^\d{1,9}$/.test(id)) return undefined;
  return { invocation: Number(id) };
}

export function helloFrame(invocation?: number): string {
  return invocation === undefined ? HELLO : `${HELLO}:${invocation}`;
}

/** Answers the worker sends, built in one place so both ends agree on the exact text. */
export const answers = {
  set: (key: string) => `OK:SET(${key})`,
  seti: (key: string) => `OK:SETI(${key})`,
  get: (value: string) => `OK:GET(${value})`,
  geti: (key: string) => `OK:GETI(${key})`,
  info: (key: string, value: string) => `INFO:${key}:${value}`,
  dumpVals: (text: string) => `OK:DUMP_VALS:${text}`,
  retrieve: (bucket: string, key: string) => `OK:RETRIEVE(${bucket}/${key})`,
  retrieving: (bucket: string, key: string, file: string) => `OK:RETRIEVING(${bucket}/${key}->${file})`,
  upload: (bucket: string, key: string) => `OK:UPLOAD(${bucket}/${key})`,
  uploading: (file: string, bucket: string, key: string) => `OK:UPLOADING(${file}->${bucket}/${key})`,
  retval: (code: number, output: string, command: string) => `OK:RETVAL(${code}):OUTPUT(${output}):COMMAND(${command})`,
  running: (command: string) => `OK:RUNNING(${command})`,
  echo: (text: string) => `OK:ECHO(${text})`,
  connect: (target: string) => `OK:CONNECT(${target})`,
  closeConnect: () => 'OK:CLOSE_CONNECT',
  fail: (reason: string) => `FAIL(${reason})`,
} as const;

/**
 * The answers that carry bytes from outside (an `echo:` argument, a command's output, a
 * `connect:` argument), built as Buffers so that bytes that are not UTF-8 go back exactly. Same
 * text as their {@link answers} counterparts when the bytes are UTF-8.
 *
 * @example binaryAnswers.echo(Buffer.from([0xff, 0xfe])) // <OK:ECHO( ff fe )>
 */
export const binaryAnswers = {
  echo: (bytes: Uint8Array) => wrapBytes('OK:ECHO(', bytes, ')'),
  connect: (target: Uint8Array) => wrapBytes('OK:CONNECT(', target, ')'),
  retval: (code: number, output: Uint8Array, command: string) => wrapBytes(`OK:RETVAL(${code}):OUTPUT(`, output, `):COMMAND(${command})`),
} as const;

function wrapBytes(head: string, bytes: Uint8Array, tail: string): Buffer {
  return Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]);
}

const STATE_FRAME = /^STATE\((\d{1,9})\):/;
/** Longest `STATE(n):` head {@link parseStateFrame} looks at. */
const STATE_HEAD_MAX = 'STATE(999999999):'.length;

/**
 * A peer-link frame carrying state file `n`: `STATE(n):` and the file's zlib-compressed bytes
 * (what mu's ExCamera workers pass from chunk to chunk).
 *
 * @example stateFrame(3, deflateSync(state)) // <STATE(3): 78 9c ...>
 */
export function stateFrame(n: number, compressed: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`STATE(${n}):`), compressed]);
}

/** The number and compressed bytes of a `STATE(n):` frame; undefined for any other frame. */
export function parseStateFrame(payload: Buffer): { n: number; compressed: Buffer } | undefined {
  const match = STATE_FRAME.exec(payload.subarray(0, STATE_HEAD_MAX).toString('latin1'));
  if (!match) return undefined;
  return { n: Number(match[1]), compressed: payload.subarray(match[0].length) };
}
