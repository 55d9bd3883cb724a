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

/**
 * Render a command for the wire.
 *
 * @example renderCommand('set:outkey:{video}-y4m_{frames:02}/{chunk:08}.y4m', { vars: { video: 'v', frames: 6, chunk: 2 }, info: EMPTY_INFO })
 * // 'set:outkey:v-y4m_06/00000002.y4m'
 */
export function renderCommand(spec: CommandSpec, scope: CommandScope): string {
  if (typeof spec === 'function') return spec(scope);
  return spec.replace(PLACEHOLDER, (whole: string, name: string | undefined, width: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const value = scope.vars[name!];
    if (value === undefined) throw new Error(`command template ${JSON.stringify(spec)} names unknown variable "${name}"`);
    return width === undefined ? String(value) : String(value).padStart(Number(width), '0');
  });
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
