/**
 * `xc-orch genkeys DIR`: write a CA, a coordinator certificate and a worker certificate (ECDSA
 * P-256) to DIR, like mu's genkeys.sh but without the openssl CLI. A run given `-c -s -k` from DIR
 * finds the worker's pair beside the server certificate.
 */
import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCredentials } from '../runtime/tls/certs.js';
import { CREDENTIAL_FILES } from '../runtime/tls/credentials.js';
import { ConfigError } from '../common/errors.js';
import { intOption, reportError } from './args.js';

export const GENKEYS_DEFAULT_DAYS = 365;

export const GENKEYS_HELP = `Usage: xc-orch genkeys [options] DIR

Writes a fresh certificate authority and the two certificates it signs into DIR:
  ${CREDENTIAL_FILES.caCert}  ${CREDENTIAL_FILES.caKey}          the CA (keep ${CREDENTIAL_FILES.caKey} safe; runs never need it)
  ${CREDENTIAL_FILES.serverCert}  ${CREDENTIAL_FILES.serverKey}  the coordinator (name xc-orch-coordinator)
  ${CREDENTIAL_FILES.workerCert}  ${CREDENTIAL_FILES.workerKey}  the workers (client certificate)
Keys are ECDSA P-256 and written with mode 0600. Use them with
  xc-orch run png2y4m -c DIR/${CREDENTIAL_FILES.caCert} -s DIR/${CREDENTIAL_FILES.serverCert} -k DIR/${CREDENTIAL_FILES.serverKey}
(the worker pair is found beside the server certificate). Without -c/-s/-k a run makes its own
credentials in memory, so genkeys is only needed to reuse one set across runs or machines.

Options:
      --days N   validity of the certificates in days        [${GENKEYS_DEFAULT_DAYS}]
  -f, --force    overwrite files that already exist          [refuse]
  -h, --help     this help
`;

const KEY_FILES = new Set<string>([CREDENTIAL_FILES.caKey, CREDENTIAL_FILES.serverKey, CREDENTIAL_FILES.workerKey]);

/** @example await run(['--days', '30', './keys']) // 0, six PEM files in ./keys */
export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        days: { type: 'string' },
        force: { type: 'boolean', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(GENKEYS_HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new ConfigError(`expects one folder, got ${positionals.length} arguments (see --help)`);
    const dir = positionals[0]!;
    const days = intOption('--days', values.days) ?? GENKEYS_DEFAULT_DAYS;
    if (days < 1 || days > 36_500) throw new ConfigError(`--days must be between 1 and 36500, got ${days}`);
    const force = values.force === true;

    const paths = Object.values(CREDENTIAL_FILES).map((name) => join(dir, name));
    const existing = paths.filter((path) => existsSync(path));
    if (existing.length > 0 && !force) {
      throw new ConfigError(`refusing to overwrite ${existing.join(', ')} (use --force)`);
    }
    const creds = await generateCredentials(days);
    await mkdir(dir, { recursive: true, mode: 0o700 });
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
