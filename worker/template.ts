/**
 * mu's command templates. A command string may name files and settings that the coordinator
 * sets per worker; the worker fills them in just before running it. Each value comes from the
 * variable `cmd<name>` if set, else from the event's field `<name>`; `##TMPDIR##` is replaced
 * last because the other values usually contain it (`set:cmdinfile:##TMPDIR##/%08d.png`).
 */

/** Placeholder for the worker's private temp dir, in commands and in retrieve/upload file names. */
export const TMPDIR_MARK = '##TMPDIR##';

/** Looks up a template value: `cmd<name>` in vals, else the event's `<name>`; undefined if neither. */
export type TemplateLookup = (name: 'vars' | 'args' | 'quality' | 'infile' | 'outfile') => string | undefined;

/**
 * Expand `template` the way mu did: prepend `vars` (environment assignments), append `args`,
 * substitute `##QUALITY##`, `##INFILE##`, `##OUTFILE##`, then each of `marks` (mu's state
 * placeholders, worker/stateFiles.ts), then `##TMPDIR##`. Placeholders whose value is unset stay
 * as they are (the shell will then complain visibly).
 *
 * @example
 * expandCommand('png2y4m -i -d -o ##OUTFILE## ##INFILE##', lookup, '/tmp/xc-worker-1')
 * // 'png2y4m -i -d -o /tmp/xc-worker-1/00000000.y4m /tmp/xc-worker-1/%08d.png'
 */
export function expandCommand(template: string, lookup: TemplateLookup, tmpDir: string, marks: Readonly<Record<string, string>> = {}): string {
  let command = template;
  const vars = lookup('vars');
  if (vars !== undefined) command = `${vars} ${command}`;
  const args = lookup('args');
  if (args !== undefined) command = `${command} ${args}`;
  const quality = lookup('quality');
  if (quality !== undefined) command = replaceLiterally(command, '##QUALITY##', quality);
  const infile = lookup('infile');
  if (infile !== undefined) command = replaceLiterally(command, '##INFILE##', infile);
  const outfile = lookup('outfile');
  if (outfile !== undefined) command = replaceLiterally(command, '##OUTFILE##', outfile);
  for (const [mark, value] of Object.entries(marks)) command = replaceLiterally(command, mark, value);
  return substituteTmpDir(command, tmpDir);
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
