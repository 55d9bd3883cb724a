/**
 * The AWS SDK's 9-line Node-version notice (issue 12): not printed on every run that touches S3
 * or Lambda. Each case is a fresh Node process running dist/, since the SDK prints the notice
 * once per process, the first time a client is made.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AWS_SDK_NODE_NOTICE_ENV, quietAwsSdkNodeNotice } from '../common/awsSdkNotice.js';

const DIST = new URL('../dist/', import.meta.url);
/** The SDK prints the notice only below Node 22. */
const sdkNotices = Number(process.versions.node.split('.')[0]) < 22;
const NOTICE = /NodeVersionSupportWarning/;

/** Run an ES module snippet in a child Node, with `dist` bound to dist/'s URL; resolves its stderr. */
function runSnippet(code: string, env: NodeJS.ProcessEnv): Promise<string> {
  const source = `const dist = ${JSON.stringify(DIST.href)};\n${code}`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', source], { env, cwd: fileURLToPath(new URL('..', DIST)), timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`snippet failed: ${stderr}`, { cause: error }));
      else resolve(stderr);
    });
  });
}

/** The environment without the SDK's switch, so that each case decides it. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_REGION: 'us-east-1', ...extra };
  if (!(AWS_SDK_NODE_NOTICE_ENV in extra)) delete env[AWS_SDK_NODE_NOTICE_ENV];
  return env;
}

const RAW_S3_CLIENT = `const { S3Client } = await import('@aws-sdk/client-s3'); new S3Client({ region: 'us-east-1' }).destroy();`;
const S3_STORE = `const { S3Store } = await import(dist + 'store/s3Store.js'); new S3Store('xc-orch-notice', { region: 'us-east-1' });`;

describe('the AWS SDK Node-version notice', () => {
  it.skipIf(!sdkNotices)('is printed by a bare SDK client on this Node (what the cases below would see)', async () => {
    expect(await runSnippet(RAW_S3_CLIENT, cleanEnv())).toMatch(NOTICE);
  });

  it.skipIf(!sdkNotices)('is printed when the user asked for it, through our S3 store too', async () => {
    expect(await runSnippet(S3_STORE, cleanEnv({ [AWS_SDK_NODE_NOTICE_ENV]: 'false' }))).toMatch(NOTICE);
  });

  it('is not printed by the S3 store, nor by any SDK client made after it', async () => {
    const stderr = await runSnippet(`${S3_STORE}\n${RAW_S3_CLIENT}`, cleanEnv());
    expect(stderr).not.toMatch(NOTICE);
    expect(stderr).toBe('');
  });

  it('is not printed by the Lambda launcher, nor by any SDK client made after it', async () => {
    const code = [
      `const { createLambdaLauncher } = await import(dist + 'runtime/launch/lambdaLauncher.js');`,
      `await createLambdaLauncher({ functionName: 'f', regions: ['eu-west-1'] }).stop();`,
      `const { LambdaClient } = await import('@aws-sdk/client-lambda');`,
      `new LambdaClient({ region: 'eu-west-1' }).destroy();`,
    ].join('\n');
    expect(await runSnippet(code, cleanEnv())).toBe('');
  });

  it("is not printed by lambdaize's deploy (which fails here on a missing zip, before any request)", async () => {
    const code = [
      `const { deployFunctions, compileLambdaizeOptions } = await import(dist + 'runtime/lambda/lambdaize.js');`,
      `const options = compileLambdaizeOptions({ builtin: 'png2y4m', role: 'arn:aws:iam::123456789012:role/x', name: 'f', endpoint: 'http://127.0.0.1:9' });`,
      `const built = { zipPath: '/nonexistent/f.zip', manifest: { version: 1, command: 'png2y4m' }, architecture: 'x86_64' };`,
      `await deployFunctions(options, built).then(() => console.error('deployed?'), () => undefined);`,
    ].join('\n');
    expect(await runSnippet(code, cleanEnv())).toBe('');
  });

  it('keeps a value the user set', () => {
    const env: NodeJS.ProcessEnv = {};
    quietAwsSdkNodeNotice(env);
    expect(env[AWS_SDK_NODE_NOTICE_ENV]).toBe('true');
    const chosen: NodeJS.ProcessEnv = { [AWS_SDK_NODE_NOTICE_ENV]: 'false' };
    quietAwsSdkNodeNotice(chosen);
    expect(chosen[AWS_SDK_NODE_NOTICE_ENV]).toBe('false');
  });
});
