/**
 * Commands that depend on the job (chunk number, frame number, ...) are written as templates:
 * `{name}` is replaced by a job variable, `{name:08}` zero-pads it to 8 characters, `{{` and `}}`
 * are literal braces. Templates are data, so they show as such in the Stately inspector; a function
 * of the context is accepted where arithmetic is needed.
 */
import type { InfoRecord } from './infoRecord.js';

/** Variables a connection machine renders its commands from (job input, loop counters). */
export type JobVars = Readonly<Record<string, string | number>>;

/** What a command function may look at. */
export interface CommandScope {
  vars: JobVars;
  info: InfoRecord;
}

/** A command template, or a function of the job variables and the worker's info. */
export type CommandSpec = string | ((scope: CommandScope) => string);

const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d{1,2}))?\}/g;

/** A template split into literal text and variable references (`width`: zero-padded). */
type Part = string | { name: string; width: number | undefined };

/**
 * Templates come from machine definitions, so a run renders the same few over and over: each is
 * split once. Bounded all the same, in case a program builds machines from generated templates.
 */
const compiled = new Map<string, readonly Part[]>();
const MAX_COMPILED = 4096;

function compile(spec: string): readonly Part[] {
  let parts = compiled.get(spec);
  if (parts) return parts;
  const list: Part[] = [];
  let text = '';
  let at = 0;
  for (const match of spec.matchAll(PLACEHOLDER)) {
    text += spec.slice(at, match.index);
    at = match.index + match[0].length;
    if (match[0] === '{{') text += '{';
    else if (match[0] === '}}') text += '}';
    else {
      if (text !== '') list.push(text);
      text = '';
      list.push({ name: match[1]!, width: match[2] === undefined ? undefined : Number(match[2]) });
    }
  }
  text += spec.slice(at);
  if (text !== '') list.push(text);
  parts = list;
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(spec, parts);
  return parts;
}

/**
 * Render a command for the wire.
 *
 * @example renderCommand('set:outkey:{video}-y4m_{frames:02}/{chunk:08}.y4m', { vars: { video: 'v', frames: 6, chunk: 2 }, info: EMPTY_INFO })
 * // 'set:outkey:v-y4m_06/00000002.y4m'
 */
export function renderCommand(spec: CommandSpec, scope: CommandScope): string {
  if (typeof spec === 'function') return spec(scope);
  let out = '';
  for (const part of compile(spec)) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = scope.vars[part.name];
    if (value === undefined) throw new Error(`command template ${JSON.stringify(spec)} names unknown variable "${part.name}"`);
    out += part.width === undefined ? String(value) : String(value).padStart(part.width, '0');
  }
  return out;
}

/**
 * Names of the variables a template uses (to check a machine's templates against its input).
 *
 * @example templateVariables('set:inkey:{video}/{frame:08}.png') // ['video', 'frame']
 */
export function templateVariables(spec: string): string[] {
  const names: string[] = [];
  for (const match of spec.matchAll(PLACEHOLDER)) if (match[1] !== undefined) names.push(match[1]);
  return names;
}
