/**
 * `xc-orch demo`: the whole png2y4m job on this machine in one command. Writes a synthetic clip
 * (16-bit RGB PNGs, 1024x436) into the store, runs the job with local workers, then checks every
 * Y4M chunk against a direct png2y4m conversion of the same frames.
 */
import { png2y4m } from '../jobs/png2y4m.js';
import { ConfigError } from '../common/errors.js';
import { formatOptionHelp, optionTable, parseOptionArgs, resolveOptions } from '../common/optionTable.js';
import { openStore } from '../store/openStore.js';
import { compileRunOptions, RUN_OPTIONS, storedKey } from '../runtime/coordinator/runOptions.js';
import type { ObjectStore } from '../store/store.js';
import { syntheticFrame } from '../runtime/demo/syntheticClip.js';
import { verifyChunks } from '../runtime/demo/verifyChunks.js';
import { reportError } from './args.js';
import { formatSummary } from './formatSummary.js';
import { runWithStatus } from './run.js';

const WIDTH = 1024;
const HEIGHT = 436;

/** The demo's options: png2y4m's and the run's, with a clip of 4 chunks by default. */
export const DEMO_OPTIONS = optionTable({
  parts: { ...png2y4m.options.parts, section: 'Options', default: 4 },
  frames: { ...png2y4m.options.frames, section: 'Options' },
  video: { ...png2y4m.options.video, section: 'Options' },
  bucket: { ...RUN_OPTIONS.bucket, section: 'Options' },
  s3Endpoint: { ...RUN_OPTIONS.s3Endpoint, section: 'Options' },
  hashKeys: { ...RUN_OPTIONS.hashKeys, section: 'Options' },
  quiet: { ...RUN_OPTIONS.quiet, section: 'Options' },
});

export const DEMO_HELP = `Usage: xc-orch demo [options]

Writes a synthetic ${WIDTH}x${HEIGHT} 16-bit clip into the store as VIDEO-png16/%08d.png, runs
the png2y4m job on it with local workers, checks every Y4M chunk against a direct png2y4m
conversion and prints where the chunks are.

${formatOptionHelp([DEMO_OPTIONS])}
  -h, --help                this help
`;

/** The demo's check, re-exported for the end-to-end tests. */
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
    const parsed = parseOptionArgs(DEMO_OPTIONS, args);
    if (parsed.help) {
      process.stdout.write(DEMO_HELP);
      return 0;
    }
    if (parsed.positionals.length > 0) throw new ConfigError(`unexpected argument '${parsed.positionals[0]}'`);
    const { parts, frames, video, ...runValues } = resolveOptions(DEMO_OPTIONS, parsed.values, process.env);
    const options = compileRunOptions({ ...runValues, port: 0 }, process.env);
    const values = resolveOptions(png2y4m.options, { parts, frames, video }, process.env);
    const store = await openStore(options.bucket, { region: options.regions[0], endpoint: options.s3Endpoint });
    const count = parts * frames;
    process.stderr.write(`writing ${count} synthetic frames (${WIDTH}x${HEIGHT}, 16-bit RGB) to ${store.name}/${video}-png16/\n`);
    await seedClip(store, video, count, { hashKeys: options.hashKeys });
    const summary = await runWithStatus(png2y4m, values, options);
    process.stderr.write(`${formatSummary(summary)}\n`);
    if (!summary.ok) return 1;
    const problems = await verifyChunks(store, { parts, frames, video, hashKeys: options.hashKeys });
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`check failed: ${problem}\n`);
      return 1;
    }
    process.stderr.write(`checked: all ${summary.parts} chunks are byte-identical to a direct png2y4m conversion\n`);
    for (const chunk of summary.chunks) for (const location of chunk.locations) process.stdout.write(`${location}\n`);
    return 0;
  } catch (error) {
    return reportError('demo', error);
  }
}
