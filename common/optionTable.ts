/**
 * Declarative option tables: one table per command (and per job) says each option's flag, type,
 * default, range and help once, and generates the parser, the `--help` text, the defaults and the
 * option types. Commands, the run options and jobs all use this one format.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './errors.js';

/** The longest delay a Node.js timer (and so an XState delay) can wait: 2^31-1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

interface BaseSpec {
  /** Long flag without dashes (`parts` for `--parts`). */
  flag: string;
  /** One-letter short flag (`n` for `-n`). */
  short?: string;
  /** One line (or a few) for `--help`. */
  help: string;
  /** Name of the argument in `--help` (`N`, `FILE`). */
  arg?: string;
  /** Heading the option is listed under in `--help`. */
  section?: string;
  /** Environment variable read when the option is not given (by {@link resolveOptions}, never by parsing). */
  env?: string;
  /** What `--help` shows as the default when it is not a plain value (`[fresh per run]`). */
  defaultText?: string;
}

export interface IntegerSpec extends BaseSpec {
  type: 'integer';
  default?: number;
  min: number;
  max: number;
  /** The value of the flag given bare, without an argument (`--dashboard` alone: 0, any port). */
  bare?: number;
}

/** A duration in seconds (fractions allowed), bounded by what a timer can wait. */
export interface SecondsSpec extends BaseSpec {
  type: 'seconds';
  default?: number;
  /** 0 is accepted and means this (e.g. `wait`); otherwise the value must be above 0. */
  zeroMeans?: string;
}

/** A number with a fraction allowed, above `above` (exclusive) and at most `max`. */
export interface NumberSpec extends BaseSpec {
  type: 'number';
  default?: number;
  above: number;
  max: number;
}

export interface StringSpec extends BaseSpec {
  type: 'string';
  default?: string;
  /** A value must match this; `expected` says what is expected, for the message. */
  pattern?: RegExp;
  expected?: string;
}

export interface BooleanSpec extends BaseSpec {
  type: 'boolean';
}

/** A comma-separated list of non-empty items. */
export interface ListSpec extends BaseSpec {
  type: 'list';
  default?: readonly string[];
}

export interface ChoiceSpec<C extends string = string> extends BaseSpec {
  type: 'choice';
  choices: readonly C[];
  default?: C;
}

export type OptionSpec = IntegerSpec | SecondsSpec | NumberSpec | StringSpec | BooleanSpec | ListSpec | ChoiceSpec;

/** Options by the property name they have in code (`parts`), each with its flag (`--parts`). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The type a spec's value has in code. */
export type ValueOf<S extends OptionSpec> = S extends IntegerSpec | SecondsSpec | NumberSpec
  ? number
  : S extends BooleanSpec
    ? boolean
    : S extends ListSpec
      ? string[]
      : S extends ChoiceSpec<infer C>
        ? C
        : string;

/** The public options of a table: every field optional (its default is in the table). */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

type WithDefault<T extends OptionTable> = { [K in keyof T]: T[K] extends { default: unknown } | BooleanSpec ? K : never }[keyof T];

/** The resolved options: defaults filled in, so fields with a default (and booleans) are present. */
export type ResolvedValues<T extends OptionTable> = { -readonly [K in WithDefault<T>]: ValueOf<T[K]> } & {
  -readonly [K in Exclude<keyof T, WithDefault<T>>]?: ValueOf<T[K]>;
};

/**
 * Define a table with its literal types kept (choices stay a union, defaults stay known).
 *
 * @example const T = optionTable({ parts: { flag: 'parts', short: 'n', type: 'integer', min: 1, max: 9, default: 1, help: 'chunks' } });
 */
export function optionTable<const T extends OptionTable>(table: T): T {
  return table;
}

/** `-n, --parts N` (or `    --json`): how an option is written in help and messages. */
export function flagLabel(spec: OptionSpec): string {
  const arg = spec.type === 'boolean' ? '' : ` ${spec.arg ?? argName(spec)}`;
  return `${spec.short ? `-${spec.short}, ` : '    '}--${spec.flag}${spec.type === 'integer' && spec.bare !== undefined ? ` [${spec.arg ?? 'N'}]` : arg}`;
}

function argName(spec: OptionSpec): string {
  switch (spec.type) {
    case 'integer':
      return 'N';
    case 'seconds':
      return 'S';
    case 'number':
      return 'X';
    case 'list':
      return 'A,B';
    case 'choice':
      return spec.choices.join('|');
    default:
      return 'TEXT';
  }
}

function defaultLabel(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.type === 'boolean' || spec.default === undefined) return undefined;
  return Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
}

/** The one-line summary of an option used in error messages: flag, then the first help line. */
export function helpLine(spec: OptionSpec): string {
  const range = spec.type === 'integer' ? ` (${spec.min}-${spec.max})` : spec.type === 'number' ? ` (above ${spec.above}, at most ${spec.max})` : '';
  return `${flagLabel(spec).trim()}: ${spec.help.split('\n')[0]}${range}`;
}

/**
 * The `--help` lines of one or more tables, by section, defaults in brackets.
 *
 * @example formatOptionHelp([RUN_OPTIONS]) // 'Workers:\n  -X, --spares N  ...'
 */
export function formatOptionHelp(tables: readonly OptionTable[], width = 28): string {
  const sections = new Map<string, string[]>();
  for (const table of tables) {
    for (const spec of Object.values(table)) {
      const section = spec.section ?? 'Options';
      const lines = sections.get(section) ?? [];
      const label = `  ${flagLabel(spec)}`;
      const help = spec.help.split('\n');
      const fallback = defaultLabel(spec);
      const env = spec.env ? ` (env ${spec.env})` : '';
      help[help.length - 1] += `${env}${fallback === undefined ? '' : ` [${fallback}]`}`;
      lines.push(helpColumns(label, help, width));
      sections.set(section, lines);
    }
  }
  return [...sections].map(([section, lines]) => `${section}:\n${lines.join('\n')}`).join('\n');
}

/** A positional argument (an operand) as `--help` describes it: `DIR`, `EXECUTABLE`. */
export interface OperandSpec {
  name: string;
  help: string;
}

/** Everything a command's `--help` says; the option lines come from its tables. */
export interface CommandHelp {
  /** Usage lines without `Usage: ` (the first gets it, the others are aligned under it). */
  usage: readonly string[];
  /** What the command does, a paragraph or more. */
  about?: string;
  operands?: readonly OperandSpec[];
  tables: readonly OptionTable[];
  /** What follows the options: environment, exit status. */
  notes?: string;
}

/**
 * A command's whole `--help`: usage, description, operands, the options of its tables (and
 * `-h, --help`), notes.
 *
 * @example formatCommandHelp({ usage: ['xc-orch genkeys [options] DIR'], operands: [{ name: 'DIR', help: 'where' }], tables: [GENKEYS_OPTIONS] })
 */
export function formatCommandHelp(help: CommandHelp, width = 28): string {
  const [first = '', ...more] = help.usage;
  const parts = [[`Usage: ${first}`, ...more.map((line) => `       ${line}`)].join('\n')];
  if (help.about !== undefined) parts.push(help.about.trimEnd());
  const sections: string[] = [];
  if (help.operands?.length) {
    sections.push(`Arguments:\n${help.operands.map((operand) => helpColumns(`  ${operand.name}`, operand.help.split('\n'), width)).join('\n')}`);
  }
  const options = formatOptionHelp(help.tables, width);
  sections.push(`${options === '' ? 'Options:' : options}\n${helpColumns('  -h, --help', ['this help'], width)}`);
  parts.push(sections.join('\n'));
  if (help.notes !== undefined) parts.push(help.notes.trimEnd());
  return `${parts.join('\n\n')}\n`;
}

/** A label and its help lines, the help starting in column `width` (on the next line when the label is too long). */
function helpColumns(label: string, help: readonly string[], width: number): string {
  const lines = [label.length + 2 <= width ? `${label.padEnd(width)}${help[0]}` : `${label}\n${' '.repeat(width)}${help[0]}`];
  for (const more of help.slice(1)) lines.push(`${' '.repeat(width)}${more}`);
  return lines.join('\n');
}

export interface ParsedArgs<T extends OptionTable> {
  values: OptionValues<T>;
  positionals: string[];
  help: boolean;
}

/**
 * Parse a command line against a table: types are converted (a word where a number goes is an
 * error naming the option), ranges are left to {@link resolveOptions}, environment is not read.
 * `-h/--help` is always known. A negative number after a flag is taken as its value (Node's
 * parser would call it ambiguous), so the range check can say what is expected.
 */
export function parseOptionArgs<T extends OptionTable>(table: T, args: readonly string[]): ParsedArgs<T> {
  const specs = Object.entries(table);
  const byFlag = new Map<string, OptionSpec>();
  for (const [, spec] of specs) {
    byFlag.set(`--${spec.flag}`, spec);
    if (spec.short) byFlag.set(`-${spec.short}`, spec);
  }
  const prepared: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      prepared.push(...args.slice(i));
      break;
    }
    const spec = byFlag.get(arg);
    const next = args[i + 1];
    if (spec?.type === 'integer' && spec.bare !== undefined && (next === undefined || !/^\d+$/.test(next))) {
      prepared.push(`--${spec.flag}=${spec.bare}`);
    } else if (spec && spec.type !== 'boolean' && next !== undefined && /^-\d/.test(next)) {
      prepared.push(`--${spec.flag}=${next}`);
      i++;
    } else prepared.push(arg);
  }
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [, spec] of specs) config[spec.flag] = { type: spec.type === 'boolean' ? 'boolean' : 'string', ...(spec.short ? { short: spec.short } : {}) };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: prepared, options: config, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw new ConfigError(parseArgsMessage(error, byFlag), { cause: error });
  }
  const values: Record<string, unknown> = {};
  for (const [key, spec] of specs) {
    const raw = parsed.values[spec.flag];
    if (raw === undefined) continue;
    values[key] = typeof raw === 'boolean' ? raw : convert(spec, raw);
  }
  return { values: values as OptionValues<T>, positionals: parsed.positionals, help: parsed.values.help === true };
}

/** Node's parser messages, shortened to what is wrong and what is expected. */
function parseArgsMessage(error: unknown, byFlag: Map<string, OptionSpec>): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^' ,]+)/.exec(message)?.[1];
  const spec = flag === undefined ? undefined : byFlag.get(flag);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${flag ?? message}' (see --help)`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && spec) {
    return spec.type === 'boolean' ? `${flag} takes no value` : `${flag} needs a value: ${helpLine(spec)}`;
  }
  return message.split('\n')[0]!;
}

function convert(spec: OptionSpec, raw: string): unknown {
  const flag = `--${spec.flag}`;
  switch (spec.type) {
    case 'integer':
      if (!/^[+-]?\d+$/.test(raw.trim())) throw new ConfigError(`${flag} expects a whole number, got ${JSON.stringify(raw)}: ${helpLine(spec)}`);
      return Number(raw);
    case 'seconds':
    case 'number': {
      const n = Number(raw);
      const what = spec.type === 'seconds' ? 'a number of seconds' : 'a number';
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${flag} expects ${what}, got ${JSON.stringify(raw)}: ${helpLine(spec)}`);
      return n;
    }
    case 'list':
      return raw.split(',').map((item) => item.trim());
    default:
      return raw;
  }
}

/**
 * Check values against their table and fill in defaults (and environment variables named by the
 * table, from `env`): the one place options get their defaults. Unknown keys are refused.
 */
export function resolveOptions<T extends OptionTable>(table: T, values: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = {}): ResolvedValues<T> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    let value = values[key];
    if (value === undefined && spec.env !== undefined && env[spec.env] !== undefined && env[spec.env] !== '') value = convert(spec, env[spec.env]!);
    if (value === undefined) {
      if (spec.type === 'boolean') out[key] = false;
      else if (spec.default !== undefined) out[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
      continue;
    }
    out[key] = check(spec, value);
  }
  return out as ResolvedValues<T>;
}

/** Keys of `values` that no table knows (a typo in options given from code). */
export function unknownKeys(values: Readonly<Record<string, unknown>>, tables: readonly OptionTable[]): string[] {
  return Object.keys(values).filter((key) => values[key] !== undefined && !tables.some((t) => Object.hasOwn(t, key)));
}

function check(spec: OptionSpec, value: unknown): unknown {
  const flag = `--${spec.flag}`;
  const bad = (expected: string) => new ConfigError(`${flag} must be ${expected}, got ${JSON.stringify(value)}: ${helpLine(spec)}`);
  switch (spec.type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max) throw bad(`a whole number from ${spec.min} to ${spec.max}`);
      return value;
    case 'seconds': {
      const max = Math.floor(MAX_TIMER_MS / 1000);
      const zero = spec.zeroMeans === undefined ? '' : ` (0: ${spec.zeroMeans})`;
      const ok = typeof value === 'number' && Number.isFinite(value) && value <= max && (value > 0 || (value === 0 && spec.zeroMeans !== undefined));
      if (!ok) throw bad(`a number of seconds above 0 and at most ${max}${zero}; timers cannot wait longer`);
      return value;
    }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= spec.above || value > spec.max) throw bad(`a number above ${spec.above} and at most ${spec.max}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('true or false');
      return value;
    case 'list':
      if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string' || item.trim() === '')) {
        throw bad('a comma-separated list of non-empty names');
      }
      return value;
    case 'choice':
      if (typeof value !== 'string' || !spec.choices.includes(value)) throw bad(`one of ${spec.choices.join(', ')}`);
      return value;
    case 'string':
      if (typeof value !== 'string' || (spec.pattern !== undefined && !spec.pattern.test(value))) throw bad(spec.expected ?? 'text');
      return value;
  }
}
