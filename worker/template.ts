/**
 * mu's command templates. A command string may name files and settings that the coordinator
 * sets per worker; the worker fills them in just before running it. Each value comes from the
 * variable `cmd<name>` if set, else from the event's field `<name>`; `##TMPDIR##` is replaced
 * last because the other values usually contain it (`set:cmdinfile:##TMPDIR##/%08d.png`).
 *
 * Paths are quoted for the shell (worker/shellQuote.ts): `##TMPDIR##`, `##INFILE##` and
 * `##OUTFILE##` each become one literal word, whatever folder name the worker was given. `vars`,
 * `args` and `##QUALITY##` are shell text by design (mu's xcenc sets `cmdquality` to
 * `--y-ac-qi 30`), inserted as they are, with the temp dir inside them quoted too.
 */
import { substituteQuoted } from './shellQuote.js';

/** Placeholder for the worker's private temp dir, in commands and in retrieve/upload file names. */
export const TMPDIR_MARK = '##TMPDIR##';

/** Looks up a template value: `cmd<name>` in vals, else the event's `<name>`; undefined if neither. */
export type TemplateLookup = (name: 'vars' | 'args' | 'quality' | 'infile' | 'outfile') => string | undefined;

/**
 * Expand `template` the way mu did: prepend `vars` (environment assignments), append `args`,
 * substitute `##QUALITY##`, then each of `marks` (mu's state placeholders, worker/stateFiles.ts:
 * shell text), then `##INFILE##`, `##OUTFILE##` and `##TMPDIR##`, quoted (see the module comment).
 * Placeholders whose value is unset stay as they are (the shell will then complain visibly).
 *
 * @example
 * expandCommand('png2y4m -i -d -o ##OUTFILE## ##INFILE##', lookup, '/tmp/xc-worker-1')
 * // "png2y4m -i -d -o '/tmp/xc-worker-1/00000000.y4m' '/tmp/xc-worker-1/%08d.png'"
 */
export function expandCommand(template: string, lookup: TemplateLookup, tmpDir: string, marks: Readonly<Record<string, string>> = {}): string {
  let command = template;
  const vars = lookup('vars');
  if (vars !== undefined) command = `${vars} ${command}`;
  const args = lookup('args');
  if (args !== undefined) command = `${command} ${args}`;
  const quality = lookup('quality');
  if (quality !== undefined) command = replaceLiterally(command, '##QUALITY##', quality);
  for (const [mark, value] of Object.entries(marks)) command = replaceLiterally(command, mark, value);
  const values = new Map<string, string>();
  for (const [mark, name] of [['##INFILE##', 'infile'], ['##OUTFILE##', 'outfile']] as const) {
    const value = lookup(name);
    if (value !== undefined) values.set(mark, substituteTmpDir(value, tmpDir));
  }
  values.set(TMPDIR_MARK, tmpDir);
  return substituteQuoted(command, values);
}

/**
 * Replace every `##TMPDIR##` in `text` by `tmpDir` (also used for retrieve/upload file names).
 *
 * @example substituteTmpDir('##TMPDIR##/00000001.png', '/tmp/xc-worker-1') // '/tmp/xc-worker-1/00000001.png'
 */
export function substituteTmpDir(text: string, tmpDir: string): string {
  return replaceLiterally(text, TMPDIR_MARK, tmpDir);
}

/** A function replacement, so `$&`, `$1`... in values are inserted as typed, not interpreted. */
function replaceLiterally(text: string, mark: string, value: string): string {
  return text.replaceAll(mark, () => value);
}
