/**
 * A local folder used as a bucket: key `a/b.png` is the file `DIR/a/b.png`. This is the embedded
 * default (`-b file:./xc-store`), so a newcomer needs no cloud account.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { StoreError, describeError } from '../common/errors.js';
import type { ObjectStore } from './store.js';

export class LocalStore implements ObjectStore {
  readonly name: string;
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.name = `file:${this.root}`;
  }

  /** Map a key to a path inside the root; keys that would escape it are refused. */
  pathOf(key: string): string {
    if (key === '' || key.includes('\0')) throw new StoreError('InvalidKey', `invalid key ${JSON.stringify(key)} in ${this.name}`);
    const path = resolve(this.root, key);
    const inside = this.root.endsWith(sep) ? this.root : this.root + sep;
    if (!path.startsWith(inside) || path === this.root) {
      throw new StoreError('InvalidKey', `key ${JSON.stringify(key)} escapes ${this.name}`);
    }
    return path;
  }

  async download(key: string, file: string): Promise<void> {
    const source = this.pathOf(key);
    const target = resolve(file);
    const temp = tempName(target);
    try {
      await pipeline(createReadStream(source), createWriteStream(temp, { flags: 'wx' }));
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.translate(error, key, `-> ${file}`);
    }
  }

  async upload(key: string, file: string): Promise<void> {
    const target = this.pathOf(key);
    const temp = tempName(target);
    try {
      await mkdir(dirname(target), { recursive: true });
      await pipeline(createReadStream(file), createWriteStream(temp, { flags: 'wx' }));
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
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temp, body, { flag: 'wx' });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.translate(error, key, '');
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const keys: string[] = [];
    await this.walk(this.root, keys);
    keys.sort(byteOrder);
    for (const key of keys) if (key.startsWith(prefix)) yield key;
  }

  locationOf(key: string): string {
    return this.pathOf(key);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }

  private async walk(dir: string, into: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.translate(error, relative(this.root, dir), '');
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await this.walk(path, into);
      else if (entry.isFile() && !entry.name.includes('.xc-partial-')) into.push(relative(this.root, path).split(sep).join('/'));
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
 * A fresh name beside `target` for writing before the rename into place; listings skip such names.
 *
 * @example tempName('/w/a.png') // '/w/a.png.xc-partial-3f9c0a1b2c4d'
 */
export function tempName(target: string): string {
  return `${target}.xc-partial-${randomBytes(6).toString('hex')}`;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
