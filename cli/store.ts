/**
 * `xc-orch store put|get|ls`: copy files and folders between disk and a store (a local folder or an
 * S3 bucket), so that a user can upload real frames and fetch results without other tools.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError, StoreError } from '../common/errors.js';
import { makeFolders } from '../common/makeFolders.js';
import { DEFAULT_BUCKET, openStore } from '../store/openStore.js';
import { S3Store } from '../store/s3Store.js';
import type { ObjectStore } from '../store/store.js';
import { formatCommandHelp, optionTable, parseOptionArgs, resolveOptions, type ResolvedValues } from '../common/optionTable.js';
import { reportError } from './args.js';

export const STORE_OPTIONS = optionTable({
  bucket: { flag: 'bucket', short: 'b', type: 'string', arg: 'STORE', default: DEFAULT_BUCKET, help: 'file:DIR (a local folder) or an S3 bucket name' },
  region: { flag: 'region', short: 'r', type: 'string', arg: 'REGION', defaultText: "the SDK's standard configuration", help: 'AWS region of the bucket' },
  endpoint: {
    flag: 's3-endpoint', type: 'string', arg: 'URL',
    help: 'endpoint of an S3-compatible service, path-style (env\nAWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true\nignores them)',
  },
  jobs: { flag: 'jobs', short: 'j', type: 'integer', min: 1, max: 256, default: 8, help: 'files copied at once' },
  quiet: { flag: 'quiet', short: 'q', type: 'boolean', help: 'no summary line on stderr' },
});

export const STORE_OPERANDS = [
  { name: 'put LOCAL [KEY]', help: "copy a file to KEY, or every file of a folder under KEY/ (KEY: the\nfile's or folder's name; a KEY ending in / gets the file under its name)" },
  { name: 'get KEY [LOCAL]', help: 'copy object KEY to the file LOCAL; if there is no object KEY, every\nobject under KEY/ into the folder LOCAL (LOCAL: the last part of KEY)' },
  { name: 'ls [PREFIX]', help: 'list the keys that begin with PREFIX, one a line' },
] as const;

export const STORE_HELP = formatCommandHelp({
  usage: ['xc-orch store put [options] LOCAL [KEY]', 'xc-orch store get [options] KEY [LOCAL]', 'xc-orch store ls [options] [PREFIX]'],
  about: 'Copies files and folders between disk and a store (a local folder or an S3 bucket).',
  operands: STORE_OPERANDS,
  tables: [STORE_OPTIONS],
  notes: `S3 credentials come from the AWS SDK's standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, SSO, or a role), never from the command line.

Exit status: 0 on success, 1 when a copy failed, 2 for bad options.`,
});

/** Parsed command line of `xc-orch store`. */
export interface StoreCommand extends ResolvedValues<typeof STORE_OPTIONS> {
  action: 'put' | 'get' | 'ls';
  operands: string[];
}

/**
 * Parse the arguments after `store`; `'help'` when help was asked for.
 *
 * @example parseStoreArgs(['ls', '-b', 'frames', 'sintel/']) // { action: 'ls', operands: ['sintel/'], bucket: 'frames', ... }
 */
export function parseStoreArgs(args: string[]): StoreCommand | 'help' {
  const { values, positionals, help } = parseOptionArgs(STORE_OPTIONS, args);
  if (help) return 'help';
  const [action, ...operands] = positionals;
  if (action !== 'put' && action !== 'get' && action !== 'ls') {
    throw new ConfigError(action === undefined ? 'missing action: put, get or ls (see --help)' : `unknown action '${action}': put, get or ls`);
  }
  const arity = { put: [1, 2], get: [1, 2], ls: [0, 1] }[action];
  if (operands.length < arity[0]! || operands.length > arity[1]!) {
    throw new ConfigError(`store ${action} takes ${arity[0]} to ${arity[1]} operands, got ${operands.length} (see --help)`);
  }
  return { action, operands, ...resolveOptions(STORE_OPTIONS, values) };
}

export async function run(args: string[]): Promise<number> {
  let store: ObjectStore | undefined;
  try {
    const command = parseStoreArgs(args);
    if (command === 'help') {
      process.stdout.write(STORE_HELP);
      return 0;
    }
    store = await openStore(command.bucket, { region: command.region, endpoint: command.endpoint });
    const summary = await ACTIONS[command.action](store, command);
    if (summary && !command.quiet) process.stderr.write(`${summary}\n`);
    return 0;
  } catch (error) {
    return reportError('store', error);
  } finally {
    if (store instanceof S3Store) store.close();
  }
}

type Action = (store: ObjectStore, command: StoreCommand) => Promise<string | undefined>;

const ACTIONS: Record<StoreCommand['action'], Action> = {
  async ls(store, { operands }) {
    const lines: string[] = [];
    for await (const key of store.list(operands[0] ?? '')) {
      lines.push(key);
      // Write in batches: a listing of a million keys should neither wait nor pile up.
      if (lines.length >= 1000) process.stdout.write(`${lines.splice(0).join('\n')}\n`);
    }
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    return undefined;
  },

  async put(store, { operands, jobs }) {
    const local = resolve(operands[0]!);
    const info = await stat(local).catch((error: unknown) => {
      throw new StoreError('LocalFile', `LocalFile: ${local}: ${describeErrno(error)}`);
    });
    const given = operands[1];
    if (info.isFile()) {
      const key = given === undefined ? basename(local) : given.endsWith('/') ? `${given}${basename(local)}` : given;
      await store.upload(key, local);
      return `put ${local} -> ${where(store, key)} (${formatBytes(info.size)})`;
    }
    if (!info.isDirectory()) throw new StoreError('LocalFile', `LocalFile: ${local} is neither a file nor a folder`);
    const prefix = (given ?? basename(local)).replace(/\/+$/, '');
    const { files, skipped } = await filesUnder(local);
    let bytes = 0;
    await forEachLimited(files, jobs, async (file) => {
      const key = [prefix, ...relative(local, file).split(sep)].filter((part) => part !== '').join('/');
      await store.upload(key, file);
      bytes += (await stat(file)).size;
    });
    const left = skipped.length === 0 ? '' : `; left out ${count(skipped.length, 'entry', 'entries')} that ${skipped.length === 1 ? 'is' : 'are'} not a file: ${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''}`;
    return `put ${count(files.length, 'file', 'files')} from ${local} -> ${where(store, prefix ? `${prefix}/` : '')} (${formatBytes(bytes)})${left}`;
  },

  async get(store, { operands, jobs }) {
    const key = operands[0]!;
    const name = basename(key.replace(/\/+$/, '')) || 'download';
    if (!key.endsWith('/') && (await store.exists(key))) {
      let target = resolve(operands[1] ?? name);
      if (operands[1]?.endsWith('/') || (await isDirectory(target))) target = join(target, basename(key));
      await makeFolders(dirname(target));
      await store.download(key, target);
      return `got ${where(store, key)} -> ${target}`;
    }
    const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    const folder = resolve(operands[1] ?? name);
    const pairs: Array<[string, string]> = [];
    for await (const found of store.list(prefix)) pairs.push([found, localPathFor(folder, found.slice(prefix.length), store, found)]);
    if (pairs.length === 0) {
      throw new StoreError('NoSuchKey', `NoSuchKey: ${where(store, key)}: no such object${prefix === key ? '' : ' and nothing under ' + where(store, prefix)}`);
    }
    await forEachLimited(pairs, jobs, async ([found, target]) => {
      await makeFolders(dirname(target));
      await store.download(found, target);
    });
    return `got ${count(pairs.length, 'file', 'files')} from ${where(store, prefix)} -> ${folder}`;
  },
};

/** Where under `folder` the object `rest` (its key below the prefix) goes; keys that would escape are refused. */
function localPathFor(folder: string, rest: string, store: ObjectStore, key: string): string {
  const parts = rest.split('/').filter((part) => part !== '');
  if (parts.length === 0 || parts.some((part) => part === '..' || part === '.') || isAbsolute(rest)) {
    throw new StoreError('InvalidKey', `InvalidKey: ${where(store, key)} has no safe local name under ${folder}`);
  }
  return join(folder, ...parts);
}

/**
 * Every file under `dir`, in a stable order: regular files and symlinks to files (a folder of
 * frames is often links into a dataset), but not files still being written (`.xc-partial-`).
 * What is neither (pipes, sockets, links to nothing or to folders) is left out, and said so.
 */
async function filesUnder(dir: string): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.includes('.xc-partial-')) continue;
      else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())) files.push(path);
      else skipped.push(relative(dir, path));
    }
  };
  await walk(dir);
  return { files, skipped };
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Run `work` on every item with at most `limit` at once; the first failure stops new starts. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

function where(store: ObjectStore, key: string): string {
  return store instanceof S3Store ? `s3://${store.bucket}/${key}` : `${store.name}/${key}`;
}

function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' ? 'no such file or folder' : error instanceof Error ? error.message : String(error);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
