/**
 * GNU `getopt_long` as glibc 2.36 behaves, as a pure function: argument permutation, `--`, short
 * option clusters with attached or separate arguments, `--name=value` / `--name value`, unambiguous
 * prefixes of long names, and glibc's own diagnostics (returned, not printed).
 *
 * @example
 * getoptLong(['prog', 'in.png', '-oout.y4m'], 'o:', []).events
 * // [{ kind: 'option', key: 'o', value: 'out.y4m' }], operands: ['in.png']
 */

export interface LongOption {
  name: string;
  hasArg: boolean;
  /** What the option reports as, like getopt_long's `val`. */
  key: string;
}

export type GetoptEvent =
  | { kind: 'option'; key: string; value: string | null }
  /** getopt returned '?': `message` is glibc's diagnostic line (with its newline). */
  | { kind: 'error'; message: string };

export interface GetoptResult {
  /** Options and errors in the order getopt returns them. */
  events: GetoptEvent[];
  /** Operands after permutation, in their original order. */
  operands: string[];
}

export interface GetoptSettings {
  /** As if POSIXLY_CORRECT were set: stop at the first operand. */
  posixlyCorrect?: boolean;
}

export function getoptLong(
  argv: readonly string[],
  shortOptions: string,
  longOptions: readonly LongOption[],
  settings: GetoptSettings = {},
): GetoptResult {
  const program = argv[0] ?? '';
  const events: GetoptEvent[] = [];
  const operands: string[] = [];
  let index = 1;
  while (index < argv.length) {
    const arg = argv[index]!;
    if (arg === '--') {
      operands.push(...argv.slice(index + 1));
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') {
      if (settings.posixlyCorrect) {
        operands.push(...argv.slice(index));
        break;
      }
      operands.push(arg);
      index++;
      continue;
    }
    index++;
    if (arg.startsWith('--')) {
      const [event, consumedNext] = parseLong(program, arg.slice(2), argv[index], longOptions);
      events.push(event);
      if (consumedNext) index++;
      continue;
    }
    // A cluster of short options: `-di`, `-oout.y4m`, `-o out.y4m`.
    for (let pos = 1; pos < arg.length; pos++) {
      const letter = arg[pos]!;
      const at = letter === ':' ? -1 : shortOptions.indexOf(letter);
      if (at < 0) {
        events.push({ kind: 'error', message: `${program}: invalid option -- '${letter}'\n` });
        continue;
      }
      if (shortOptions[at + 1] !== ':') {
        events.push({ kind: 'option', key: letter, value: null });
        continue;
      }
      if (pos + 1 < arg.length) {
        events.push({ kind: 'option', key: letter, value: arg.slice(pos + 1) });
      } else if (index < argv.length) {
        events.push({ kind: 'option', key: letter, value: argv[index]! });
        index++;
      } else {
        events.push({ kind: 'error', message: `${program}: option requires an argument -- '${letter}'\n` });
      }
      break;
    }
  }
  return { events, operands };
}

/** One `--name[=value]` argument; the boolean says whether the next argv entry was used. */
function parseLong(
  program: string,
  text: string,
  next: string | undefined,
  longOptions: readonly LongOption[],
): [GetoptEvent, boolean] {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  let found = longOptions.find((option) => option.name === name);
  if (!found) {
    const candidates = longOptions.filter((option) => option.name.startsWith(name));
    const first = candidates[0];
    if (first) {
      const ambiguous = candidates.some((c) => c.hasArg !== first.hasArg || c.key !== first.key);
      if (ambiguous) {
        const list = candidates.map((c) => ` '--${c.name}'`).join('');
        return [{ kind: 'error', message: `${program}: option '--${text}' is ambiguous; possibilities:${list}\n` }, false];
      }
      found = first;
    }
  }
  if (!found) return [{ kind: 'error', message: `${program}: unrecognized option '--${text}'\n` }, false];
  if (eq >= 0) {
    if (!found.hasArg) {
      return [{ kind: 'error', message: `${program}: option '--${found.name}' doesn't allow an argument\n` }, false];
    }
    return [{ kind: 'option', key: found.key, value: text.slice(eq + 1) }, false];
  }
  if (!found.hasArg) return [{ kind: 'option', key: found.key, value: null }, false];
  if (next === undefined) {
    return [{ kind: 'error', message: `${program}: option '--${found.name}' requires an argument\n` }, false];
  }
  return [{ kind: 'option', key: found.key, value: next }, true];
}
