/**
 * The relay's first frame, `HELLO_STATE:RUN:ME:PARTNER`, and the ids it names. As mu, an id is
 * `RUN_int(N)`, so `00000002` and `2` name the same worker; unlike mu, anything else is refused
 * with a reason instead of crashing the server.
 */

/** The longest hello accepted; the relay refuses a longer first frame from its header alone. */
export const MAX_RELAY_HELLO_BYTES = 256;

export interface RelayHello {
  /** This connection's id, `RUN_ME` with ME as a plain decimal. */
  id: string;
  /** Where its frames go: `RUN_PARTNER`. */
  partnerId: string;
}

// RUN: printable ASCII without spaces or colons; ME and PARTNER: decimal digits.
const HELLO = /^HELLO_STATE:([\x21-\x39\x3b-\x7e]+):(\d+):(\d+)$/;

/**
 * @example parseRelayHello('HELLO_STATE:7:00000002:3') // { id: '7_2', partnerId: '7_3' }
 * @example parseRelayHello('HELLO_STATE:7:x:3')        // 'expected HELLO_STATE:RUN:ME:PARTNER ...'
 */
export function parseRelayHello(text: string): RelayHello | string {
  const match = HELLO.exec(text);
  if (!match) return `expected HELLO_STATE:RUN:ME:PARTNER (ME and PARTNER decimal), got ${JSON.stringify(text.slice(0, 60))}`;
  const [, run, me, partner] = match as unknown as [string, string, string, string];
  const id = `${run}_${decimal(me)}`;
  const partnerId = `${run}_${decimal(partner)}`;
  if (id === partnerId) return `hello names ${id} as its own partner`;
  return { id, partnerId };
}

/** Python's int() of a string of digits, kept as text so that any length stays exact. */
function decimal(digits: string): string {
  return digits.replace(/^0+(?=\d)/, '');
}
