/**
 * `xc-orch demo`: the whole png2y4m job on this machine in one command. Writes a synthetic clip
 * (16-bit RGB PNGs, 1024x436) into the store, runs the job with local workers, then checks every
 * Y4M chunk against a direct png2y4m conversion of the same frames.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { openStore } from '../store/openStore.js';
import { compileRunOptions, RUN_DEFAULTS, storedKey } from '../runtime/coordinator/runOptions.js';
import type { ObjectStore } from '../store/store.js';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { verifyChunks } from '../runtime/demo/verifyChunks.js';
import { intOption, reportError } from './args.js';
import { executeJob, formatSummary } from './runJob.js';

const WIDTH = 1024;
const HEIGHT = 436;

export const DEMO_HELP = `Usage: xc-orch demo [options]

Writes a synthetic ${WIDTH}x${HEIGHT} 16-bit clip into the store as VIDEO-png16/%08d.png, runs
the png2y4m job on it with local workers, checks every Y4M chunk against a direct png2y4m
conversion and prints where the chunks are.

  -n, --parts N          chunks (one worker each)        [4]
  -f, --frames N         frames per chunk                [6]
  -v, --video NAME       video name                      [${RUN_DEFAULTS.video}]
  -b, --bucket STORE     file:DIR                        [${RUN_DEFAULTS.bucket}]
      --s3-endpoint URL  endpoint of an S3-compatible service
  -M, --hash-keys        hashed key names (mu's hash_s3keys)
  -q, --quiet            no live status
  -h, --help             this help
`;

export { verifyChunks };

export interface ClipOptions {
  /** Name keys as `-M` does. Default false. */
  hashKeys?: boolean;
  /** Frame size. Default 1024x436, the reference clip's. */
  width?: number;
  height?: number;
}

/**
 * Write frames 1..count of the synthetic clip as `VIDEO-png16/%08d.png`, skipping frames already
 * present.
 *
 * @example await seedClip(store, 'clip', 6, { width: 64, height: 48 })
 */
export async function seedClip(store: ObjectStore, video: string, count: number, options: ClipOptions = {}): Promise<void> {
  const { hashKeys = false, width = WIDTH, height = HEIGHT } = options;
  for (let frame = 1; frame <= count; frame++) {
    const key = storedKey({ hashKeys }, `${video}-png16/${String(frame).padStart(8, '0')}.png`);
    if (!(await store.exists(key))) await store.put(key, syntheticFrame(frame - 1, width, height));
  }
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        parts: { type: 'string', short: 'n' },
        frames: { type: 'string', short: 'f' },
        video: { type: 'string', short: 'v' },
        bucket: { type: 'string', short: 'b' },
        's3-endpoint': { type: 'string' },
        'hash-keys': { type: 'boolean', short: 'M' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(DEMO_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}'`);
    const options = compileRunOptions({
      parts: intOption('-n', values.parts) ?? 4,
      frames: intOption('-f', values.frames) ?? 6,
      video: values.video,
      bucket: values.bucket,
      s3Endpoint: values['s3-endpoint'] ?? process.env.AWS_ENDPOINT_URL_S3,
      hashKeys: values['hash-keys'],
      port: 0,
      quiet: values.quiet,
    });
    const store = await openStore(options.bucket, { region: options.regions[0], endpoint: options.s3Endpoint });
    const frames = options.parts * options.frames;
    process.stderr.write(`writing ${frames} synthetic frames (${WIDTH}x${HEIGHT}, 16-bit RGB) to ${store.name}/${options.video}-png16/\n`);
    await seedClip(store, options.video, frames, { hashKeys: options.hashKeys });
    const summary = await executeJob(options);
    process.stderr.write(`${formatSummary(summary)}\n`);
    if (!summary.ok) return 1;
    const problems = await verifyChunks(store, options);
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`check failed: ${problem}\n`);
      return 1;
    }
    process.stderr.write(`checked: all ${summary.parts} chunks are byte-identical to a direct png2y4m conversion\n`);
    for (const chunk of summary.chunks) process.stdout.write(`${chunk.output}\n`);
    return 0;
  } catch (error) {
    return reportError('demo', error);
  }
}
