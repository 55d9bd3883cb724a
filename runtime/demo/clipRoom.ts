/**
 * Whether a local store's disk can hold the demo's clip: a demo asked for `-n 100000` would
 * otherwise write frames until the disk is full and then fail halfway, with the disk full. A
 * frame counts at its raw size as PNG input (16-bit RGB, an upper bound of what the synthetic
 * frame compresses to) plus one 4:2:0 Y4M frame of output. Other stores are not checked.
 *
 * @example await checkRoomForClip(new LocalStore('./xc-store'), 24, 1024, 436) // resolves: 24 frames fit
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { LocalStore } from '../../store/localStore.js';
import type { ObjectStore } from '../../store/store.js';

export async function checkRoomForClip(store: ObjectStore, frames: number, width: number, height: number): Promise<void> {
  if (!(store instanceof LocalStore)) return;
  const perFrame = width * height * 6 + height + Math.ceil((width * height * 3) / 2);
  const needed = frames * perFrame;
  const free = await freeBytes(store.root);
  if (free === undefined || needed <= free) return;
  throw new ConfigError(
    `${frames} frames of ${width}x${height} and their Y4M chunks need about ${gigabytes(needed)} in ${store.root}, which has ${gigabytes(free)} free: use a smaller -n or -f`,
  );
}

/** Free bytes for an unprivileged writer on the disk `path` is (or would be) on; undefined if unknown. */
async function freeBytes(path: string): Promise<number | undefined> {
  for (let at = path; ; at = dirname(at)) {
    const info = await statfs(at).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : undefined));
    if (info) return info.bavail * info.bsize;
    if (info === undefined || dirname(at) === at) return undefined;
  }
}

function gigabytes(bytes: number): string {
  return bytes >= 1e12 ? `${(bytes / 1e12).toFixed(1)} TB` : `${(bytes / 1e9).toFixed(1)} GB`;
}
