/**
 * Quoting for `/bin/sh`: values put into a command line (the worker's temp dir, file names) must
 * reach the program as exactly one literal word, whatever their characters (spaces, quotes,
 * `$(...)`), and whether the template around them is bare or already quoted (mu's own templates
 * write `"##TMPDIR##/final.state"`). So a value is quoted for the quoting context it lands in.
 */

/** Where a point of shell text is: bare, inside '...', inside "...", inside `...`, or in a comment. */
type QuoteContext = 'bare' | 'single' | 'double' | 'backtick' | 'comment';

/**
 * `text` as one single-quoted shell word.
 *
 * @example shellQuote("it's") // `'it'\''s'`
 */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Replace every occurrence of each mark in `command` by its value, quoted for the context it
 * appears in, so that the shell reads the value literally: `'...'` where the mark is bare,
 * backslash escapes inside double quotes, `'\''` splices inside single quotes. Marks are found
 * in one left-to-right pass, so a value is never scanned for marks itself.
 *
 * @example
 * substituteQuoted('cp ##TMPDIR##/a "##TMPDIR##/b c"', new Map([['##TMPDIR##', '/tmp/x y']]))
 * // `cp '/tmp/x y'/a "/tmp/x y/b c"`
 */
export function substituteQuoted(command: string, values: ReadonlyMap<string, string>): string {
  const marks = [...values.keys()].filter((mark) => mark !== '');
  // A stack of contexts: `$(` opens a bare one inside double quotes too; `depth` counts its parentheses.
  const stack: Array<{ context: QuoteContext; depth: number; substitution: boolean }> = [{ context: 'bare', depth: 0, substitution: false }];
  let out = '';
  let i = 0;
  while (i < command.length) {
    const top = stack[stack.length - 1]!;
    const mark = marks.find((candidate) => command.startsWith(candidate, i));
    if (mark !== undefined) {
      out += quoteFor(values.get(mark)!, top.context);
      i += mark.length;
      continue;
    }
    const char = command[i]!;
    const next = command[i + 1];
    if (top.context === 'single' || top.context === 'comment') {
      if (char === (top.context === 'single' ? "'" : '\n')) stack.pop();
      out += char;
      i++;
      continue;
    }
    if (char === '\\' && next !== undefined) {
      out += char + next;
      i += 2;
      continue;
    }
    if (char === '$' && next === '(') {
      stack.push({ context: 'bare', depth: 0, substitution: true });
      out += '$(';
      i += 2;
      continue;
    }
    if (char === '`') {
      if (top.context === 'backtick') stack.pop();
      else stack.push({ context: 'backtick', depth: 0, substitution: false });
    } else if (top.context === 'double') {
      if (char === '"') stack.pop();
    } else if (char === "'") {
      stack.push({ context: 'single', depth: 0, substitution: false });
    } else if (char === '"') {
      stack.push({ context: 'double', depth: 0, substitution: false });
    } else if (char === '(' && top.substitution) {
      top.depth++;
    } else if (char === ')' && top.substitution) {
      if (top.depth === 0) stack.pop();
      else top.depth--;
    } else if (char === '#' && startsWord(out)) {
      // A comment runs to the end of the line: quotes in it mean nothing, marks are still replaced.
      stack.push({ context: 'comment', depth: 0, substitution: false });
    }
    out += char;
    i++;
  }
  return out;
}

function quoteFor(value: string, context: QuoteContext): string {
  switch (context) {
    case 'bare':
    case 'comment':
      return shellQuote(value);
    case 'single':
      return value.replaceAll("'", "'\\''");
    case 'double':
      return value.replace(/[\\"$`]/g, '\\$&');
    case 'backtick':
      // Inside backquotes the shell first strips one backslash before \, ` and $.
      return shellQuote(value).replace(/[\\`$]/g, '\\$&');
  }
}

/** Whether the next character starts a word (so a `#` there starts a comment). */
function startsWord(textSoFar: string): boolean {
  return textSoFar === '' || /[\s;&|()]$/.test(textSoFar);
}
