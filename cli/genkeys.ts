/**
 * `xc-orch genkeys DIR`: write a CA, a coordinator certificate and a worker certificate (ECDSA
 * P-256) to DIR, like mu's genkeys.sh but without the openssl CLI. A run given `-c -s -k` from DIR
 * finds the worker's pair beside the server certificate.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCredentials } from '../runtime/tls/certs.js';
import { CREDENTIAL_FILES } from '../runtime/tls/credentials.js';
import { ConfigError } from '../common/errors.js';
import { makeFolders } from '../common/makeFolders.js';
import { formatCommandHelp, optionTable, parseOptionArgs, resolveOptions } from '../common/optionTable.js';
import { reportError } from './args.js';

export const GENKEYS_OPTIONS = optionTable({
  days: { flag: 'days', type: 'integer', min: 1, max: 36_500, default: 365, help: 'validity of the certificates in days' },
  force: { flag: 'force', short: 'f', type: 'boolean', help: 'overwrite files that already exist (without it, genkeys refuses)' },
});

export const GENKEYS_OPERANDS = [{ name: 'DIR', help: 'the folder the six files go to (made, mode 0700, if missing)' }] as const;

export const GENKEYS_HELP = formatCommandHelp({
  usage: ['xc-orch genkeys [options] DIR'],
  about: `Writes a fresh certificate authority and the two certificates it signs into DIR:
  ${CREDENTIAL_FILES.caCert}  ${CREDENTIAL_FILES.caKey}          the CA (keep ${CREDENTIAL_FILES.caKey} safe; runs never need it)
  ${CREDENTIAL_FILES.serverCert}  ${CREDENTIAL_FILES.serverKey}  the coordinator (name xc-orch-coordinator)
  ${CREDENTIAL_FILES.workerCert}  ${CREDENTIAL_FILES.workerKey}  the workers (client certificate)
Keys are ECDSA P-256 and written with mode 0600. Use them with
  xc-orch run png2y4m -c DIR/${CREDENTIAL_FILES.caCert} -s DIR/${CREDENTIAL_FILES.serverCert} -k DIR/${CREDENTIAL_FILES.serverKey}
(the worker pair is found beside the server certificate). Without -c/-s/-k a run makes its own
credentials in memory, so genkeys is only needed to reuse one set across runs or machines.`,
  operands: GENKEYS_OPERANDS,
  tables: [GENKEYS_OPTIONS],
  notes: 'Exit status: 0 when the files are written, 1 when writing failed, 2 for bad options or files\nthat exist already (without --force).',
});

const KEY_FILES = new Set<string>([CREDENTIAL_FILES.caKey, CREDENTIAL_FILES.serverKey, CREDENTIAL_FILES.workerKey]);

/** @example await run(['--days', '30', './keys']) // 0, six PEM files in ./keys */
export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parseOptionArgs(GENKEYS_OPTIONS, args);
    if (help) {
      process.stdout.write(GENKEYS_HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new ConfigError(`expects one folder, got ${positionals.length} arguments (see --help)`);
    const dir = positionals[0]!;
    const { days, force } = resolveOptions(GENKEYS_OPTIONS, values);

    const paths = Object.values(CREDENTIAL_FILES).map((name) => join(dir, name));
    const existing = paths.filter((path) => existsSync(path));
    if (existing.length > 0 && !force) {
      throw new ConfigError(`refusing to overwrite ${existing.join(', ')} (use --force)`);
    }
    const creds = await generateCredentials(days);
    await makeFolders(dir, 0o700);
    const texts: Record<keyof typeof CREDENTIAL_FILES, string> = creds;
    for (const [role, name] of Object.entries(CREDENTIAL_FILES) as Array<[keyof typeof CREDENTIAL_FILES, string]>) {
      await writeFileWithMode(join(dir, name), texts[role], KEY_FILES.has(name) ? 0o600 : 0o644, force);
    }
    process.stdout.write(`${paths.join('\n')}\n`);
    return 0;
  } catch (error) {
    return reportError('genkeys', error);
  }
}

/** Set the mode before any byte is written, so that a replaced key file is never briefly world-readable. */
async function writeFileWithMode(path: string, text: string, mode: number, overwrite: boolean): Promise<void> {
  const handle = await open(path, overwrite ? 'w' : 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
