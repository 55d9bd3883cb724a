/**
 * `xc-orch demo`: the whole png2y4m job on this machine in one command. Writes a synthetic clip
 * (16-bit RGB PNGs, 1024x436) into the store, runs the job with local workers, then checks every
 * Y4M chunk against a direct png2y4m conversion of the same frames. `xc-orch demo excamera` goes on
 * from those chunks: ExCamera's xcenc job, its chunks joined into one `.ivf`, checked with vpxdec.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { png2y4m } from '../jobs/png2y4m.js';
import { xcenc } from '../jobs/xcenc.js';
import { checkJoinedStream } from '../runtime/demo/checkJoinedStream.js';
import { checkRoomForClip } from '../runtime/demo/clipRoom.js';
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
       xc-orch demo excamera [options]   (see xc-orch demo excamera --help)

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

/** Both demos' first step: the clip into the store, once it is known to fit, saying so on stderr. */
async function writeClip(store: ObjectStore, video: string, count: number, hashKeys: boolean): Promise<void> {
  await checkRoomForClip(store, count, WIDTH, HEIGHT);
  process.stderr.write(`writing ${count} synthetic frames (${WIDTH}x${HEIGHT}, 16-bit RGB) to ${store.name}/${video}-png16/\n`);
  await seedClip(store, video, count, { hashKeys });
}

export async function run(args: string[]): Promise<number> {
  if (args[0] === 'excamera') return runExcamera(args.slice(1));
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
    await writeClip(store, video, parts * frames, options.hashKeys);
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

/** `demo excamera`'s options: the clip's, the encoder's, and where the joined stream goes. */
export const EXCAMERA_OPTIONS = optionTable({
  parts: { ...png2y4m.options.parts, section: 'Options', default: 6 },
  frames: DEMO_OPTIONS.frames,
  video: DEMO_OPTIONS.video,
  groupSize: { flag: 'group-size', short: 'K', type: 'integer', section: 'Options', min: 1, max: 100_000, default: 3, help: 'chunks per group: each group starts with a key frame' },
  quality: { ...xcenc.options.quality, section: 'Options' },
  join: { ...xcenc.options.join, section: 'Options', defaultText: './VIDEO.ivf', help: 'where the joined stream is written (a local file)' },
  bucket: DEMO_OPTIONS.bucket,
  s3Endpoint: DEMO_OPTIONS.s3Endpoint,
  hashKeys: DEMO_OPTIONS.hashKeys,
  quiet: DEMO_OPTIONS.quiet,
});

export const EXCAMERA_HELP = `Usage: xc-orch demo excamera [options]

ExCamera on this machine: writes the synthetic ${WIDTH}x${HEIGHT} clip, cuts it into Y4M chunks with
the png2y4m job, encodes them with the xcenc job (local workers passing decoder states through
the relay), joins the chunks into one IVF and checks it with vpxdec: every frame decodes, and key
frames are only at the head of each group of K chunks. Needs vpxenc and vpxdec (Debian's
vpx-tools) and alfalfa's xc-enc and xc-dump (scripts/build-alfalfa.sh) on PATH.

${formatOptionHelp([EXCAMERA_OPTIONS])}
  -h, --help                this help
`;

/** The programs the demo runs, and where each comes from. */
const EXCAMERA_TOOLS = { vpxenc: 'vpx-tools', vpxdec: 'vpx-tools', 'xc-enc': 'alfalfa', 'xc-dump': 'alfalfa' } as const;

/** The tools not on PATH, and one line saying what to install for them (undefined: none missing). */
export async function missingExcameraTools(path = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = path.split(delimiter).filter((d) => d !== '');
  const found = async (name: string) => Promise.any(dirs.map((d) => access(join(d, name), constants.X_OK))).then(() => true, () => false);
  const names = Object.keys(EXCAMERA_TOOLS) as Array<keyof typeof EXCAMERA_TOOLS>;
  const missing = (await Promise.all(names.map(async (name) => ((await found(name)) ? [] : [name])))).flat();
  if (missing.length === 0) return undefined;
  const from = (source: string) => missing.filter((name) => EXCAMERA_TOOLS[name] === source);
  const steps = [
    ...(from('vpx-tools').length > 0 ? [`install vpx-tools for ${from('vpx-tools').join(' and ')} (apt-get install vpx-tools)`] : []),
    ...(from('alfalfa').length > 0 ? [`build ${from('alfalfa').join(' and ')} with scripts/build-alfalfa.sh SRC_DIR OUT_DIR and put OUT_DIR on PATH`] : []),
  ];
  return `${missing.join(', ')} not found on PATH: ${steps.join('; ')}`;
}

async function runExcamera(args: string[]): Promise<number> {
  try {
    const parsed = parseOptionArgs(EXCAMERA_OPTIONS, args);
    if (parsed.help) {
      process.stdout.write(EXCAMERA_HELP);
      return 0;
    }
    if (parsed.positionals.length > 0) throw new ConfigError(`unexpected argument '${parsed.positionals[0]}'`);
    const { parts, frames, video, groupSize, quality, join: joinFile, ...runValues } = resolveOptions(EXCAMERA_OPTIONS, parsed.values, process.env);
    const missing = await missingExcameraTools();
    if (missing) throw new ConfigError(missing);
    const file = joinFile ?? `${video}.ivf`;
    const options = compileRunOptions({ ...runValues, port: 0 }, process.env);
    const store = await openStore(options.bucket, { region: options.regions[0], endpoint: options.s3Endpoint });
    await writeClip(store, video, parts * frames, options.hashKeys);
    const cut = await runWithStatus(png2y4m, resolveOptions(png2y4m.options, { parts, frames, video }, process.env), options);
    process.stderr.write(`png2y4m ${formatSummary(cut)}\n`);
    if (!cut.ok) return 1;
    const inFormat = `y4m_${String(frames).padStart(2, '0')}`;
    const encoded = await runWithStatus(xcenc, resolveOptions(xcenc.options, { parts, video, inFormat, groupSize, quality, join: file }, process.env), options);
    process.stderr.write(`xcenc ${formatSummary(encoded)}\n`);
    if (encoded.after) process.stderr.write(`${encoded.after.line}\n`);
    if (!encoded.ok) return 1;
    const problems = await checkJoinedStream(file, { frames: parts * frames, groupFrames: groupSize * frames, width: WIDTH, height: HEIGHT });
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`check failed: ${problem}\n`);
      return 1;
    }
    const groups = Math.ceil(parts / groupSize);
    process.stderr.write(`checked: vpxdec decodes ${file} to all ${parts * frames} frames, with ${groups} key frame${groups === 1 ? '' : 's'}, one per group of ${groupSize} chunks\n`);
    process.stdout.write(`${file}\n`);
    return 0;
  } catch (error) {
    return reportError('demo excamera', error);
  }
}
