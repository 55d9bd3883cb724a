/**
 * The generic job, like Lithops' map over object keys: every key under `--in PREFIX` (optionally
 * only names matching `--match GLOB`) is retrieved, `--cmd TEMPLATE` runs on it, and its result is
 * uploaded under `--out PREFIX`; `--per-worker K` keys per worker, so chunks = ceil(keys / K).
 */
import { posix } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { helpLine, optionTable } from '../common/optionTable.js';
import { commandList, forLoop } from '../machines/blocks.js';
import type { CommandScope } from '../machines/commandTemplate.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { defineJob, type PlanContext } from './defineJob.js';

/** A chunk of the map job: its keys, each with its output key and the suffix its local files keep. */
export interface MapInput {
  chunk: number;
  items: ReadonlyArray<{ key: string; outKey: string; inSuffix: string; outSuffix: string }>;
  answerTimeoutMs?: number;
}

const JOB = 'Job';

export const MAP_OPTIONS = optionTable({
  in: { flag: 'in', type: 'string', arg: 'PREFIX', section: JOB, help: 'every key under this prefix is an input (required)', pattern: /\S/, expected: 'a key prefix' },
  match: { flag: 'match', type: 'string', arg: 'GLOB', section: JOB, help: 'only inputs whose file name matches (* ? [...])' },
  cmd: {
    flag: 'cmd', type: 'string', arg: 'TEMPLATE', section: JOB, pattern: /\S/, expected: 'a shell command',
    help: 'command run on each input (required): ##INFILE## is the input,\n##OUTFILE## the file to upload, ##TMPDIR## the worker\'s temp dir',
  },
  out: { flag: 'out', type: 'string', arg: 'PREFIX', section: JOB, help: 'prefix the results are uploaded under (required)', pattern: /\S/, expected: 'a key prefix' },
  outName: {
    flag: 'out-name', type: 'string', arg: 'TEMPLATE', section: JOB, default: '{name}', pattern: /^[^/]+$/, expected: "a file name template without '/'",
    help: 'name of each result: {name} the input\'s file name, {stem} without\nits extension, {ext} the extension with its dot',
  },
  perWorker: { flag: 'per-worker', type: 'integer', arg: 'K', section: JOB, min: 1, max: 100_000, default: 1, help: 'inputs per worker (chunks = ceil(inputs / K))' },
});

/** `*`, `?` and `[...]` of a file-name glob as a regular expression. */
export function globPattern(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) source += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The file name a result gets: `{name}`, `{stem}`, `{ext}` of the input's file name. */
export function outputName(template: string, inputName: string): string {
  const ext = posix.extname(inputName);
  const stem = ext === '' ? inputName : inputName.slice(0, -ext.length);
  return template.replace(/\{(name|stem|ext)\}/g, (_, part: string) => (part === 'name' ? inputName : part === 'stem' ? stem : ext));
}

/** Local files keep an extension only when it is plain (the command may care; the shell must not). */
const plainSuffix = (name: string) => {
  const ext = posix.extname(name);
  return /^\.[A-Za-z0-9_-]{1,16}$/.test(ext) ? ext : '';
};

const item = (scope: CommandScope) => {
  const { items, i } = scope.vars as unknown as { items: string; i: number };
  return (JSON.parse(items) as MapInput['items'])[i]!;
};

export const mapMachine = createConnectionMachine({
  id: 'map',
  // Job variables are flat strings and numbers: the chunk's items travel as one JSON text.
  vars: (input: MapInput) => ({ chunk: input.chunk, items: JSON.stringify(input.items), last: input.items.length - 1 }),
  answerTimeoutMs: (input) => input.answerTimeoutMs,
  blocks: [
    commandList('configure', ['seti:nonblock:0']),
    forLoop('inputs', {
      counter: 'i',
      from: 0,
      to: 'last',
      body: commandList('input', [
        { name: 'set_inkey', send: (s) => `set:inkey:${item(s).key}`, expect: 'OK:SET' },
        { name: 'set_targfile', send: (s) => `set:targfile:##TMPDIR##/in_${s.vars.i}${item(s).inSuffix}`, expect: 'OK:SET' },
        { name: 'set_cmdinfile', send: (s) => `set:cmdinfile:##TMPDIR##/in_${s.vars.i}${item(s).inSuffix}`, expect: 'OK:SET' },
        { name: 'set_cmdoutfile', send: (s) => `set:cmdoutfile:##TMPDIR##/out_${s.vars.i}${item(s).outSuffix}`, expect: 'OK:SET' },
        'retrieve:',
        { send: 'run:', expect: 'OK:RETVAL(0)' },
        { name: 'set_fromfile', send: (s) => `set:fromfile:##TMPDIR##/out_${s.vars.i}${item(s).outSuffix}`, expect: 'OK:SET' },
        { name: 'set_outkey', send: (s) => `set:outkey:${item(s).outKey}`, expect: 'OK:SET' },
        'upload:',
      ]),
    }),
  ],
});

const required = (value: string | undefined, key: keyof typeof MAP_OPTIONS): string => {
  if (value === undefined) throw new ConfigError(`map needs --${MAP_OPTIONS[key].flag}: ${helpLine(MAP_OPTIONS[key])}`);
  return value;
};

const asPrefix = (prefix: string) => (prefix.endsWith('/') ? prefix : `${prefix}/`);

async function listInputs(context: PlanContext, prefix: string, match: RegExp | undefined): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of context.list(prefix)) {
    const name = key.slice(prefix.length);
    if (name === '' || name.includes('/')) continue;
    if (match === undefined || match.test(name)) keys.push(key);
  }
  return keys.sort();
}

/**
 * @example await runJob(map, { in: 'texts', out: 'upper', cmd: "tr a-z A-Z < ##INFILE## > ##OUTFILE##", perWorker: 2 })
 */
export const map = defineJob({
  name: 'map',
  description: 'run a command on every key under a prefix and upload each result, K keys per worker',
  options: MAP_OPTIONS,
  plan: async (values, context) => {
    const inPrefix = asPrefix(required(values.in, 'in'));
    const outPrefix = asPrefix(required(values.out, 'out'));
    required(values.cmd, 'cmd');
    const keys = await listInputs(context, inPrefix, values.match === undefined ? undefined : globPattern(values.match));
    const chunks = Array.from({ length: Math.ceil(keys.length / values.perWorker) }, (_, chunk) => {
      const items = keys.slice(chunk * values.perWorker, (chunk + 1) * values.perWorker).map((key) => {
        const name = outputName(values.outName, key.slice(inPrefix.length));
        return { key, outKey: `${outPrefix}${name}`, inSuffix: plainSuffix(key), outSuffix: plainSuffix(name) };
      });
      return { input: { chunk, items }, inputs: items.map((i) => i.key), outputs: items.map((i) => i.outKey) };
    });
    const names = new Set(chunks.flatMap((c) => c.outputs));
    if (names.size !== keys.length) throw new ConfigError(`--out-name ${JSON.stringify(values.outName)} gives two inputs the same output name`);
    return {
      title: `map · ${keys.length} input${keys.length === 1 ? '' : 's'} in ${chunks.length} chunk${chunks.length === 1 ? '' : 's'}`,
      emptyReason: `no key found under ${inPrefix} in ${context.storeName}${values.match === undefined ? '' : ` matching ${values.match}`}: nothing to run`,
      chunks,
    };
  },
  machine: mapMachine,
  worker: { command: (values) => values.cmd ?? '' },
});
