/**
 * A local folder used as a bucket: key `a/b.png` is the file `DIR/a/b.png`. This is the embedded
 * default (`-b file:./xc-store`), so a newcomer needs no cloud account.
 *
 * Keys never lead out of the folder: not by `..`, and not through a symlink inside it (a read is
 * checked on its real path, a write creates its folders one by one without following links out).
 * Objects are written under a temporary `.xc-partial-*` name first; one left by a writer that was
 * killed is removed by {@link LocalStore.removeStalePartials}, which openStore runs for each store.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { StoreError, describeError } from '../common/errors.js';
import { makeFolders } from '../common/makeFolders.js';
import { isInside } from './isInside.js';
import type { ObjectStore, TransferOptions } from './store.js';

/** The part of a temporary object's name that marks it; listings skip such names. */
export const PARTIAL_MARK = '.xc-partial-';

/**
 * A partial object untouched for this long belongs to a writer that is gone: a live one writes
 * continuously, and nothing xc-orch runs (a Lambda worker lives at most 15 minutes) lasts longer.
 */
export const STALE_PARTIAL_MS = 15 * 60_000;

export class LocalStore implements ObjectStore {
  readonly name: string;
  readonly root: string;
  /** The root with symlinks resolved, found once (the folder may not exist before the first write). */
  private rootReal: Promise<string> | undefined;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.name = `file:${this.root}`;
  }

  /** Map a key to a path inside the root; keys that would escape it are refused. */
  pathOf(key: string): string {
    if (key === '' || key.includes('\0')) throw new StoreError('InvalidKey', `invalid key ${JSON.stringify(key)} in ${this.name}`);
    const path = resolve(this.root, key);
    if (!isInside(path, this.root) || path === this.root) {
      throw new StoreError('InvalidKey', `key ${JSON.stringify(key)} escapes ${this.name}`);
    }
    return path;
  }

  async download(key: string, file: string, options: TransferOptions = {}): Promise<void> {
    const target = resolve(file);
    const temp = tempName(target);
    try {
      const source = await this.readablePath(key);
      await copyToTemp(source, temp, options.signal);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.translate(error, key, `-> ${file}`);
    }
  }

  async upload(key: string, file: string, options: TransferOptions = {}): Promise<void> {
    const target = this.pathOf(key);
    const temp = tempName(target);
    try {
      await this.makeFoldersFor(key);
      await copyToTemp(file, temp, options.signal);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.translate(error, key, `<- ${file}`);
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    const temp = tempName(target);
    try {
      await this.makeFoldersFor(key);
      await writeFile(temp, body, { flag: 'wx' });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.translate(error, key, '');
    }
  }

  /**
   * Remove every partial object (`*.xc-partial-*`) not written to for `olderThanMs`: what writers
   * that were killed mid-write left behind. Returns how many were removed.
   *
   * @example await new LocalStore('./xc-store').removeStalePartials() // 1
   */
  async removeStalePartials(olderThanMs: number = STALE_PARTIAL_MS): Promise<number> {
    const partials: string[] = [];
    await this.walk(this.root, [], partials);
    const before = Date.now() - olderThanMs;
    let removed = 0;
    for (const path of partials) {
      try {
        const info = await lstat(path);
        if (info.isFile() && info.mtimeMs < before) {
          await rm(path, { force: true });
          removed++;
        }
      } catch {
        // Renamed into place or removed meanwhile by its writer.
      }
    }
    return removed;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const keys: string[] = [];
    await this.walk(this.root, keys, []);
    keys.sort(byteOrder);
    for (const key of keys) if (key.startsWith(prefix)) yield key;
  }

  locationOf(key: string): string {
    return this.pathOf(key);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(await this.readablePath(key))).isFile();
    } catch {
      return false;
    }
  }

  /** The real path of `key`'s file, refused if a symlink leads it out of the store. */
  private async readablePath(key: string): Promise<string> {
    const path = this.pathOf(key);
    const real = await realpath(path);
    if (!isInside(real, await this.realRoot())) throw this.outside(key);
    return real;
  }

  /**
   * Make the folders above `key`'s file one at a time, like `mkdir -p` but refusing a symlink
   * (or anything else) on the way that leads out of the store.
   */
  private async makeFoldersFor(key: string): Promise<void> {
    await makeFolders(this.root);
    const root = await this.realRoot();
    const parts = relative(this.root, dirname(this.pathOf(key))).split(sep).filter((part) => part !== '');
    let dir = this.root;
    for (const part of parts) {
      dir = join(dir, part);
      const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (info === undefined) {
        await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
      } else if (info.isSymbolicLink() && !isInside(await realpath(dir), root)) {
        throw this.outside(key);
      }
    }
    if (!isInside(await realpath(dir), root)) throw this.outside(key);
  }

  private realRoot(): Promise<string> {
    this.rootReal ??= realpath(this.root).catch((error: unknown) => {
      this.rootReal = undefined;
      throw error;
    });
    return this.rootReal;
  }

  private outside(key: string): StoreError {
    return new StoreError('InvalidKey', `key ${JSON.stringify(key)} leads out of ${this.name} through a symlink`);
  }

  /** Collect the keys (and the paths of partial objects) below `dir`; symlinks are not followed. */
  private async walk(dir: string, into: string[], partials: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.translate(error, relative(this.root, dir), '');
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await this.walk(path, into, partials);
      else if (!entry.isFile()) continue;
      else if (entry.name.includes(PARTIAL_MARK)) partials.push(path);
      else into.push(relative(this.root, path).split(sep).join('/'));
    }
  }

  private translate(error: unknown, key: string, fileNote: string): StoreError {
    if (error instanceof StoreError) return error;
    const where = `${this.name}/${key}${fileNote ? ` ${fileNote}` : ''}`;
    const code = (error as NodeJS.ErrnoException).code;
    const path = (error as NodeJS.ErrnoException).path;
    if (code === 'ENOENT' && path === this.pathOf(key)) return new StoreError('NoSuchKey', `NoSuchKey: ${where}`);
    if (code === 'EACCES' || code === 'EPERM') return new StoreError('AccessDenied', `AccessDenied: ${where}: ${describeError(error)}`);
    return new StoreError('LocalFile', `${where}: ${describeError(error)}`);
  }
}

/**
 * Copy `source` into the new file `temp`, settling only once `temp` is closed: when reading fails
 * at once (a folder, a file that went away), the pipeline rejects while the writer may still be
 * opening `temp`, which the caller's cleanup would then miss, leaving a partial file behind.
 */
async function copyToTemp(source: string, temp: string, signal: AbortSignal | undefined): Promise<void> {
  const writer = createWriteStream(temp, { flags: 'wx' });
  const closed = new Promise<void>((resolve) => {
    if (writer.closed) resolve();
    else writer.once('close', () => resolve());
  });
  try {
    await pipeline(createReadStream(source), writer, signal ? { signal } : {});
  } finally {
    await closed;
  }
}

/**
 * A fresh name beside `target` for writing before the rename into place; listings skip such names.
 *
 * @example tempName('/w/a.png') // '/w/a.png.xc-partial-3f9c0a1b2c4d'
 */
export function tempName(target: string): string {
  return `${target}${PARTIAL_MARK}${randomBytes(6).toString('hex')}`;
}


function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
