/**
 * Load a job file of the user's own (`.mjs`, `.js` or `.ts`) without a build step of theirs:
 * esbuild bundles it (TypeScript included) with every `import ... from 'xc-orch'` pointing at this
 * package's compiled entry, so the job is built from the same code that runs it.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, describeError } from '../common/errors.js';
import { NODE_BUNDLE } from '../common/nodeBundle.js';
import { packageRoot } from '../common/packagePaths.js';
import { isJob, type AnyJob } from './defineJob.js';

const EXTENSIONS = ['.mjs', '.js', '.ts', '.mts'];

/**
 * The job a file exports: its default export, or its only exported job. Every failure is one
 * ConfigError naming the file and the reason (the cause attached).
 *
 * @example const job = await loadJobFile('./examples/stitch.ts');
 */
export async function loadJobFile(path: string): Promise<AnyJob> {
  const file = resolve(path);
  const fail = (reason: string, cause?: unknown) => new ConfigError(`job file ${path}: ${reason}`, cause === undefined ? undefined : { cause });
  const info = await stat(file).catch((error: unknown) => {
    throw fail((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read it (${describeError(error)})`, error);
  });
  if (!info.isFile()) throw fail('is not a file');
  if (!EXTENSIONS.includes(extname(file))) throw fail(`must end in ${EXTENSIONS.join(', ')}`);
  const { build } = await import('esbuild');
  const entry = pathToFileURL(join(packageRoot(), 'dist', 'index.js')).href;
  let code: string;
  try {
    const result = await build({
      ...NODE_BUNDLE,
      entryPoints: [file],
      plugins: [{ name: 'xc-orch', setup: (b) => b.onResolve({ filter: /^xc-orch$/ }, () => ({ path: entry, external: true })) }],
    });
    code = result.outputFiles[0]!.text;
  } catch (error) {
    const first = (error as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }).errors?.[0];
    const where = first?.location ? ` (line ${first.location.line}:${first.location.column})` : '';
    throw fail(`does not load: ${first ? `${first.text}${where}` : describeError(error)}`, error);
  }
  const dir = await mkdtemp(join(tmpdir(), 'xc-job-'));
  let exports: Record<string, unknown>;
  try {
    const bundle = join(dir, 'job.mjs');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(bundle, code);
    exports = (await import(pathToFileURL(bundle).href)) as Record<string, unknown>;
  } catch (error) {
    throw fail(`does not load: ${describeError(error)}`, error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (isJob(exports.default)) return exports.default;
  const named = Object.values(exports).filter(isJob);
  if (named.length === 1) return named[0]!;
  throw fail(named.length === 0 ? 'exports no job (export default defineJob({...}) from xc-orch)' : `exports ${named.length} jobs; export the one to run as default`);
}
