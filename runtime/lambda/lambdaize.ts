/**
 * `xc-orch lambdaize`: package the worker as a Lambda function and create it.
 *
 * The zip holds the worker runtime bundled into one file by esbuild (`index.mjs`, whose `handler`
 * is `index.handler`), the command template in a manifest, and under `bin/` (first on the
 * worker's PATH) the executable and the extra files, or, for `--builtin png2y4m`, our own
 * TypeScript png2y4m bundled the same way behind a small `bin/png2y4m` wrapper: no native binary
 * (plus `png2y4mThread.mjs`, the thread in which the worker converts frames without a process, and
 * `png2y4mFrameThread.mjs`, the threads that decode a sequence's frames ahead of the conversion).
 *
 * A dynamically linked executable is refused unless `--allow-dynamic`, which copies its shared
 * libraries into `lib/` (as mu did, minus the C library and loader that every Lambda image has)
 * and puts that folder on LD_LIBRARY_PATH. Lambda's size limits are checked before uploading.
 * `--copies K` creates K identical functions from the one zip (functionCopies.ts says why).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateFunctionCommand, GetFunctionCommand, LambdaClient, waitUntilFunctionActiveV2, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import { build } from 'esbuild';
import yazl from 'yazl';
import { MANIFEST_FILE, type LambdaManifest } from '../../worker/lambdaHandler.js';
import { DEFAULT_REGION } from '../../worker/parseEvent.js';
import { quietAwsSdkNodeNotice } from '../../common/awsSdkNotice.js';
import { ConfigError, describeError } from '../../common/errors.js';
import { makeFolders } from '../../common/makeFolders.js';
import { NODE_BUNDLE } from '../../common/nodeBundle.js';
import { optionTable, resolveOptions, unknownKeys, type OptionValues, type ResolvedValues } from '../../common/optionTable.js';
import { resolveEndpointOverride } from '../launch/lambdaEndpoint.js';
import { MAX_FUNCTION_COPIES, functionCopyNames } from './functionCopies.js';
import { DEFAULT_FUNCTION_MEMORY_MB, DEFAULT_FUNCTION_TIMEOUT_S } from './functionDefaults.js';

/** Lambda's deployment limits: a zip uploaded directly, and the unpacked function. */
export const LAMBDA_LIMITS = { zippedBytes: 50 * 1024 * 1024, unzippedBytes: 250 * 1024 * 1024 } as const;

/** The tools that can be packed without a native executable. */
export const BUILTINS = ['png2y4m'] as const;
export type Builtin = (typeof BUILTINS)[number];

/** The command of the png2y4m job (mu-reference section 5); the coordinator sends the same. */
export const BUILTIN_COMMANDS: Readonly<Record<Builtin, string>> = {
  png2y4m: 'png2y4m -i -d -o ##OUTFILE## ##INFILE##',
};

/** The options of `xc-orch lambdaize` with their defaults, by the name they have in {@link LambdaizeOptions}. */
export const LAMBDAIZE_OPTIONS = optionTable({
  builtin: { flag: 'builtin', type: 'choice', arg: 'NAME', choices: BUILTINS, help: 'pack our own tool instead of an EXECUTABLE' },
  name: { flag: 'name', type: 'string', arg: 'NAME', defaultText: "the executable's name, a dash, 8 random hex digits", help: 'function name' },
  copies: {
    flag: 'copies', type: 'integer', arg: 'K', min: 1, max: MAX_FUNCTION_COPIES, default: 1,
    help: 'create K identical functions NAME-0 .. NAME-(K-1) from the one zip\n(Lambda starts at most 1,000 workers per 10 s per function)',
  },
  memoryMb: { flag: 'memory', type: 'integer', arg: 'MB', min: 128, max: 10_240, default: DEFAULT_FUNCTION_MEMORY_MB, help: "the function's memory in MB (Lambda gives CPU in proportion)" },
  timeoutS: { flag: 'timeout', type: 'integer', arg: 'S', min: 1, max: 900, default: DEFAULT_FUNCTION_TIMEOUT_S, help: 'seconds one invocation (one worker) may run' },
  region: { flag: 'region', type: 'string', arg: 'REGION', env: 'AWS_REGION', default: DEFAULT_REGION, help: 'region the function is created in' },
  role: { flag: 'role', type: 'string', arg: 'ARN', env: 'AWS_ROLE', help: "the function's execution role, needed unless --skip-upload" },
  runtime: { flag: 'runtime', type: 'string', arg: 'NAME', default: 'nodejs22.x', help: 'Lambda runtime' },
  skipUpload: { flag: 'skip-upload', type: 'boolean', help: 'write the zip and stop' },
  allowDynamic: {
    flag: 'allow-dynamic', type: 'boolean',
    help: 'pack a dynamically linked executable with its shared libraries\n(copied into lib/, on LD_LIBRARY_PATH; libc and the loader are not)',
  },
  outDir: { flag: 'out', type: 'string', arg: 'DIR', default: '.', help: 'folder the zip is written to' },
  endpoint: {
    flag: 'lambda-endpoint', type: 'string', arg: 'URL', defaultText: "AWS's",
    help: 'a Lambda-compatible API instead of AWS (env AWS_ENDPOINT_URL_LAMBDA,\nAWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true\nignores them)',
  },
});

/** What to pack and how to create it: the table's options, and what goes in the zip. */
export interface LambdaizeOptions extends OptionValues<typeof LAMBDAIZE_OPTIONS> {
  /** The executable to pack (exclusive with `builtin`). */
  executable?: string;
  /** Arguments before and after the executable in the command template. Default empty. */
  preArgs?: string;
  postArgs?: string;
  /** More files for `bin/`, modes kept. Default none. */
  extraFiles?: string[];
}

export interface CompiledLambdaizeOptions extends Omit<ResolvedValues<typeof LAMBDAIZE_OPTIONS>, 'builtin' | 'name' | 'copies' | 'endpoint'> {
  source: { kind: 'builtin'; builtin: Builtin } | { kind: 'executable'; path: string };
  preArgs: string;
  postArgs: string;
  extraFiles: string[];
  /** The zip's name, and the functions' names without their copy suffix. */
  name: string;
  /** Every function to create: `[name]`, or its copies. */
  functions: string[];
  /** An absolute path. */
  outDir: string;
  endpoint: string | undefined;
}

/**
 * Check the options once, defaults and env (`AWS_REGION`, `AWS_ROLE`, the endpoint's) applied;
 * picks the function name (with a random suffix) when none is given.
 *
 * @example compileLambdaizeOptions({ builtin: 'png2y4m', skipUpload: true }).name // 'png2y4m-3f9a1c2e'
 */
export function compileLambdaizeOptions(options: LambdaizeOptions, env: NodeJS.ProcessEnv = process.env): CompiledLambdaizeOptions {
  const { executable, preArgs, postArgs, extraFiles, ...values } = options;
  const unknown = unknownKeys(values, [LAMBDAIZE_OPTIONS]);
  if (unknown.length > 0) throw new ConfigError(`unknown lambdaize option ${unknown.join(', ')}`);
  const { builtin, name: given, copies, endpoint, ...o } = resolveOptions(LAMBDAIZE_OPTIONS, values, env);
  if ((executable === undefined) === (builtin === undefined)) {
    throw new ConfigError('name an EXECUTABLE to pack, or --builtin png2y4m (not both)');
  }
  let source: CompiledLambdaizeOptions['source'];
  if (builtin !== undefined) {
    if (preArgs || postArgs || extraFiles?.length) throw new ConfigError('--builtin takes no PRE_ARGS, POST_ARGS or extra files');
    source = { kind: 'builtin', builtin };
  } else {
    source = { kind: 'executable', path: resolve(executable!) };
  }
  // Room for the copy suffix (`-99`) within Lambda's 64 characters.
  const suffixLength = copies > 1 ? String(copies - 1).length + 1 : 0;
  const base = source.kind === 'builtin' ? source.builtin : basename(source.path);
  const name = given ?? `${base.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 55 - suffixLength) || 'worker'}-${randomBytes(4).toString('hex')}`;
  const badName = () => new ConfigError(`--name must be 1-64 letters, digits, '-' or '_'${copies > 1 ? ' (its copy suffix included)' : ''}, got ${JSON.stringify(name)}`);
  if (!/^[a-zA-Z0-9_-]+$/.test(name)) throw badName();
  const functions = functionCopyNames(name, copies);
  if (functions.some((fn) => fn.length > 64)) throw badName();
  if (!o.skipUpload) {
    if (!o.role) throw new ConfigError('--role (or env AWS_ROLE) must name the execution role ARN, unless --skip-upload');
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(o.role)) throw new ConfigError(`--role must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME), got ${JSON.stringify(o.role)}`);
  }
  return {
    ...o,
    source,
    preArgs: (preArgs ?? '').trim(),
    postArgs: (postArgs ?? '').trim(),
    extraFiles: (extraFiles ?? []).map((file) => resolve(file)),
    name,
    functions,
    outDir: resolve(o.outDir),
    endpoint: resolveEndpointOverride(endpoint, env)?.href,
  };
}

/** What an executable is, as far as packing it goes. */
export type ExecutableInfo =
  | { kind: 'elf'; dynamic: boolean; interpreter?: string; arch: 'x86_64' | 'arm64' | 'other'; machine: number }
  | { kind: 'script'; interpreter: string };

/**
 * Read enough of a file to tell a static ELF from a dynamic one (a `PT_INTERP` program header
 * names the loader a dynamic executable needs) or a `#!` script. Throws ConfigError otherwise.
 *
 * @example await inspectExecutable('/bin/ls') // { kind: 'elf', dynamic: true, interpreter: '/lib64/ld-linux-x86-64.so.2', ... }
 */
export async function inspectExecutable(path: string): Promise<ExecutableInfo> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw new ConfigError(`cannot read executable ${path}: ${describeError(error)}`);
  }
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await file.read(head, 0, head.byteLength, 0);
    if (head.subarray(0, 2).toString('latin1') === '#!') {
      return { kind: 'script', interpreter: head.toString('latin1', 2, Math.max(2, head.indexOf(10))).trim() };
    }
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new ConfigError(`${path} is neither an ELF executable nor a #! script`);
    return await parseElf(path, head, (offset, length) => readAt(file!, offset, length));
  } finally {
    await file.close();
  }
}

async function readAt(file: Awaited<ReturnType<typeof open>>, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, offset);
  return buffer.subarray(0, bytesRead);
}

const PT_INTERP = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

async function parseElf(path: string, head: Buffer, read: (offset: number, length: number) => Promise<Buffer>): Promise<ExecutableInfo> {
  const bad = (why: string) => new ConfigError(`${path}: malformed ELF (${why})`);
  if (head.byteLength < 52) throw bad('truncated header');
  const is64 = head[4] === 2;
  const little = head[5] === 1;
  if (head[4] !== 1 && head[4] !== 2) throw bad('unknown class');
  if (head[5] !== 1 && head[5] !== 2) throw bad('unknown byte order');
  const u16 = (b: Buffer, o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(little ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  if (is64 && head.byteLength < 64) throw bad('truncated header');
  const machine = u16(head, 18);
  const phoff = is64 ? u64(head, 32) : u32(head, 28);
  const phentsize = u16(head, is64 ? 54 : 42);
  const phnum = u16(head, is64 ? 56 : 44);
  if (phnum > 4096 || (phnum > 0 && phentsize < (is64 ? 56 : 32))) throw bad('implausible program header table');
  const table = await read(phoff, phentsize * phnum);
  if (table.byteLength < phentsize * phnum) throw bad('program header table beyond the end of the file');
  const arch = machine === EM_X86_64 ? 'x86_64' : machine === EM_AARCH64 ? 'arm64' : 'other';
  for (let i = 0; i < phnum; i++) {
    const entry = table.subarray(i * phentsize, (i + 1) * phentsize);
    if (u32(entry, 0) !== PT_INTERP) continue;
    const offset = is64 ? u64(entry, 8) : u32(entry, 4);
    const size = is64 ? u64(entry, 32) : u32(entry, 16);
    const interpreter = (await read(offset, Math.min(size, 4096))).toString('latin1').replace(/\0.*$/s, '');
    return { kind: 'elf', dynamic: true, interpreter, arch, machine };
  }
  return { kind: 'elf', dynamic: false, arch, machine };
}

/** Libraries every Lambda image provides, which must not be shadowed by copies (mu's list). */
const SYSTEM_LIBRARY = /^(linux-vdso|linux-gate|ld-linux|ld64|libc\.so|libpthread\.so|librt\.so|libdl\.so)/;

/**
 * The shared libraries `ldd` lists for `path`, minus the C library and the loader; throws when a
 * library is not found. Note: ldd may run the file's loader, so only pack executables you trust.
 *
 * @example await sharedLibraries('/usr/bin/vpxenc') // [{ name: 'libvpx.so.7', path: '/usr/lib/x86_64-linux-gnu/libvpx.so.7' }]
 */
export async function sharedLibraries(path: string): Promise<Array<{ name: string; path: string }>> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)('ldd', [path], { maxBuffer: 1024 * 1024 }));
  } catch (error) {
    throw new ConfigError(`cannot list the shared libraries of ${path} with ldd: ${describeError(error)}`);
  }
  return parseLdd(stdout);
}

/**
 * Parse ldd's output (exported for tests).
 *
 * @example parseLdd('\tlibz.so.1 => /lib/libz.so.1 (0x7f)\n') // [{ name: 'libz.so.1', path: '/lib/libz.so.1' }]
 */
export function parseLdd(text: string): Array<{ name: string; path: string }> {
  const libraries: Array<{ name: string; path: string }> = [];
  const missing: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(\S+)\s+=>\s+(.*?)\s*(\(0x[0-9a-f]+\))?\s*$/.exec(line);
    if (!match) continue;
    const [, name, where] = match as unknown as [string, string, string];
    if (SYSTEM_LIBRARY.test(name)) continue;
    if (where === 'not found') missing.push(name);
    else if (where.startsWith('/')) libraries.push({ name, path: where });
  }
  if (missing.length > 0) throw new ConfigError(`shared libraries not found: ${missing.join(', ')}`);
  return libraries;
}

/** One file of the package. */
export interface PackageEntry {
  name: string;
  data: Buffer;
  executable: boolean;
}

export interface BuiltPackage {
  zipPath: string;
  zippedBytes: number;
  unzippedBytes: number;
  entries: Array<{ name: string; bytes: number; executable: boolean }>;
  manifest: LambdaManifest;
  architecture: 'x86_64' | 'arm64';
  warnings: string[];
}

/**
 * Check Lambda's size limits. Too large unpacked is fatal; too large zipped only for a direct
 * upload (a zip in S3 may be larger).
 *
 * @example checkSizeLimits({ zippedBytes: 60e6, unzippedBytes: 1e8 }, { upload: false }) // ['... 50 MiB ...']
 */
export function checkSizeLimits(sizes: { zippedBytes: number; unzippedBytes: number }, context: { upload: boolean }, limits = LAMBDA_LIMITS): string[] {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (sizes.unzippedBytes > limits.unzippedBytes) {
    throw new ConfigError(`the package unpacks to ${mib(sizes.unzippedBytes)}, over Lambda's ${mib(limits.unzippedBytes)} limit`);
  }
  if (sizes.zippedBytes > limits.zippedBytes) {
    const message = `the zip is ${mib(sizes.zippedBytes)}, over the ${mib(limits.zippedBytes)} limit of a direct upload`;
    if (context.upload) throw new ConfigError(`${message}; upload it through S3 instead (--skip-upload writes it)`);
    return [`${message}: upload it through S3`];
  }
  return [];
}

/** Where the worker handler and built-in tools are, next to this module (sources or dist alike). */
function sourceFile(folder: string, name: string): string {
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  return join(dirname(here), '..', '..', folder, `${name}${ext}`);
}

/** ESM output still meets CommonJS dependencies that call require() for Node built-ins. */
const ESM_REQUIRE_BANNER = "import { createRequire as __xcCreateRequire } from 'node:module'; const require = __xcCreateRequire(import.meta.url);";

/**
 * Bundle one entry (a file, or inline source resolved from `resolveDir`) into a single ESM file.
 *
 * @example const code = await bundle({ entry: 'worker/lambdaHandler.ts' });
 */
export async function bundle(input: { entry: string } | { contents: string; resolveDir: string }): Promise<Buffer> {
  const result = await build({
    ...NODE_BUNDLE,
    ...('entry' in input ? { entryPoints: [input.entry] } : { stdin: { contents: input.contents, resolveDir: input.resolveDir, loader: 'ts' as const } }),
    banner: { js: ESM_REQUIRE_BANNER },
    sourcemap: false,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return Buffer.from(file.contents);
}

/** The `bin/` wrapper of a built-in tool: runs its bundle with the Node binary running the worker. */
function builtinWrapper(builtin: Builtin): string {
  return `#!/bin/sh\n# xc-orch built-in ${builtin}: the bundle next to this folder, run by the worker's Node.\nexec "\${XC_ORCH_NODE:-node}" "$(dirname "$0")/../${builtin}.mjs" "$@"\n`;
}

/**
 * Every file of the package, for the compiled options: bundles, manifest, executable or built-in
 * tool, extra files, and shared libraries.
 */
export async function packageEntries(options: CompiledLambdaizeOptions): Promise<{ entries: PackageEntry[]; manifest: LambdaManifest; architecture: 'x86_64' | 'arm64'; warnings: string[] }> {
  const entries: PackageEntry[] = [];
  const warnings: string[] = [];
  let manifest: LambdaManifest;
  let architecture: 'x86_64' | 'arm64' = 'x86_64';
  entries.push({ name: 'index.mjs', data: await bundle({ entry: sourceFile('worker', 'lambdaHandler') }), executable: false });
  if (options.source.kind === 'builtin') {
    const { builtin } = options.source;
    const main = sourceFile(builtin, 'main');
    const tool = await bundle({
      contents: `import { main } from ${JSON.stringify(main)};\nprocess.exitCode = await main([${JSON.stringify(builtin)}, ...process.argv.slice(2)]);\n`,
      resolveDir: dirname(main),
    });
    entries.push({ name: `${builtin}.mjs`, data: tool, executable: false });
    // The worker converts frames in a thread of its own (worker/builtinTools.ts), whose entry
    // must be a file of its own; the handler looks for it next to index.mjs.
    entries.push({ name: `${builtin}Thread.mjs`, data: await bundle({ entry: sourceFile('worker', `${builtin}Thread`) }), executable: false });
    // A sequence's frames are decoded ahead in threads (png2y4m/frameThreads.ts) started from this file.
    entries.push({ name: `${builtin}FrameThread.mjs`, data: await bundle({ entry: sourceFile(builtin, 'frameThread') }), executable: false });
    entries.push({ name: `bin/${builtin}`, data: Buffer.from(builtinWrapper(builtin)), executable: true });
    manifest = { version: 1, command: BUILTIN_COMMANDS[builtin], builtin };
  } else {
    const { path } = options.source;
    const info = await inspectExecutable(path);
    const name = basename(path);
    if (info.kind === 'script') {
      warnings.push(`${name} is a script for ${info.interpreter}: that interpreter must exist on Lambda`);
    } else {
      if (info.arch === 'other') throw new ConfigError(`${name} is built for ELF machine ${info.machine}; Lambda runs x86_64 and arm64`);
      architecture = info.arch;
    }
    entries.push({ name: `bin/${name}`, data: await readFile(path), executable: true });
    manifest = { version: 1, command: [options.preArgs, name, options.postArgs].filter((part) => part !== '').join(' ') };
    if (info.kind === 'elf' && info.dynamic) {
      if (!options.allowDynamic) {
        throw new ConfigError(
          `${name} is dynamically linked (loader ${info.interpreter}); Lambda may lack its libraries. Link it statically, or pass --allow-dynamic to pack its shared libraries`,
        );
      }
      const libraries = await sharedLibraries(path);
      for (const library of libraries) entries.push({ name: `lib/${library.name}`, data: await readFile(library.path), executable: false });
      manifest.libDir = 'lib';
      warnings.push(`${name} is dynamically linked: packed ${libraries.length} shared librar${libraries.length === 1 ? 'y' : 'ies'} into lib/ (its loader ${info.interpreter} must match Lambda's)`);
    }
    for (const extra of options.extraFiles) {
      const mode = (await stat(extra).catch((error: unknown) => {
        throw new ConfigError(`cannot read extra file ${extra}: ${describeError(error)}`);
      })).mode;
      entries.push({ name: `bin/${basename(extra)}`, data: await readFile(extra), executable: (mode & 0o111) !== 0 });
    }
  }
  entries.push({ name: MANIFEST_FILE, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), executable: false });
  const names = new Set<string>();
  for (const entry of entries) {
    if (names.has(entry.name)) throw new ConfigError(`two files would be packed as ${entry.name}`);
    names.add(entry.name);
  }
  return { entries, manifest, architecture, warnings };
}

/** A fixed time for every entry, so that the same inputs make the same zip (and CodeSha256). */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/**
 * Zip the entries (sorted, fixed times, Unix modes 0755/0644).
 *
 * @example const zip = await zipEntries([{ name: 'index.mjs', data, executable: false }]);
 */
export async function zipEntries(entries: PackageEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
    zip.addBuffer(entry.data, entry.name, { mtime: ZIP_MTIME, mode: entry.executable ? 0o100755 : 0o100644, compress: true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Build the zip and write it to `outDir/NAME.zip`; checks the size limits. */
export async function buildPackage(options: CompiledLambdaizeOptions): Promise<BuiltPackage> {
  const { entries, manifest, architecture, warnings } = await packageEntries(options);
  const unzippedBytes = entries.reduce((sum, entry) => sum + entry.data.byteLength, 0);
  const zip = await zipEntries(entries);
  warnings.push(...checkSizeLimits({ zippedBytes: zip.byteLength, unzippedBytes }, { upload: !options.skipUpload }));
  await makeFolders(options.outDir);
  const zipPath = join(options.outDir, `${options.name}.zip`);
  await writeFile(zipPath, zip);
  return {
    zipPath,
    zippedBytes: zip.byteLength,
    unzippedBytes,
    entries: entries.map((entry) => ({ name: entry.name, bytes: entry.data.byteLength, executable: entry.executable })),
    manifest,
    architecture,
    warnings,
  };
}

/**
 * Create every function of `options.functions` from the zip with CreateFunction, one after
 * another, wait until all are Active, and return their descriptions (GetFunction's
 * Configuration), in copy order. Credentials come from the SDK's standard chain. When one fails,
 * the error names it and the copies already created, which are left in place.
 */
export async function deployFunctions(options: CompiledLambdaizeOptions, built: BuiltPackage, maxWaitS = 300): Promise<FunctionConfiguration[]> {
  quietAwsSdkNodeNotice();
  const client = new LambdaClient({ region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
  const { functions } = options;
  const notCreated = (index: number, error: unknown) => {
    const name = functions[index]!;
    const before = index > 0 ? `; ${functions.slice(0, index).join(', ')} created and left in place` : '';
    const copy = functions.length > 1 ? ` (copy ${index + 1} of ${functions.length}${before})` : '';
    return new Error(`cannot create function ${name}${copy}: ${describeError(error)}`, { cause: error });
  };
  try {
    const what = options.source.kind === 'builtin' ? `built-in ${options.source.builtin}` : basename(options.source.path);
    const zipFile = await readFile(built.zipPath);
    for (const [index, name] of functions.entries()) {
      await client
        .send(
          new CreateFunctionCommand({
            FunctionName: name,
            Runtime: options.runtime as never,
            Role: options.role,
            Handler: 'index.handler',
            Code: { ZipFile: zipFile },
            MemorySize: options.memoryMb,
            Timeout: options.timeoutS,
            Architectures: [built.architecture],
            Description: `xc-orch worker (${what}): ${built.manifest.command}`.slice(0, 256),
            PackageType: 'Zip',
          }),
        )
        .catch((error: unknown) => {
          throw notCreated(index, error);
        });
    }
    return await Promise.all(
      functions.map(async (name) => {
        try {
          await waitUntilFunctionActiveV2({ client, maxWaitTime: maxWaitS, minDelay: 1, maxDelay: 5 }, { FunctionName: name });
          const { Configuration } = await client.send(new GetFunctionCommand({ FunctionName: name }));
          if (!Configuration) throw new Error('GetFunction returned no configuration');
          return Configuration;
        } catch (error) {
          throw new Error(`function ${name} was created but did not become Active: ${describeError(error)}`, { cause: error });
        }
      }),
    );
  } finally {
    client.destroy();
  }
}

export interface LambdaizeResult {
  zip: string;
  zippedBytes: number;
  unzippedBytes: number;
  command: string;
  warnings: string[];
  /** The created functions' descriptions, one per copy; absent with `--skip-upload`. */
  functions?: FunctionConfiguration[];
}

/**
 * The whole of `xc-orch lambdaize`: build, check, write, and (unless skipUpload) create.
 *
 * @example const { zip, functions } = await lambdaize({ builtin: 'png2y4m', copies: 5, role: 'arn:aws:iam::123456789012:role/xc' });
 */
export async function lambdaize(raw: LambdaizeOptions, env: NodeJS.ProcessEnv = process.env): Promise<LambdaizeResult> {
  const options = compileLambdaizeOptions(raw, env);
  const built = await buildPackage(options);
  const result: LambdaizeResult = {
    zip: built.zipPath,
    zippedBytes: built.zippedBytes,
    unzippedBytes: built.unzippedBytes,
    command: built.manifest.command,
    warnings: built.warnings,
  };
  if (options.skipUpload) return result;
  return { ...result, functions: await deployFunctions(options, built) };
}
