/**
 * The AWS SDK's Node-version notice, said once in the README instead of on every run. On Node
 * 20 the SDK prints a 9-line NodeVersionSupportWarning (its releases after the first week of
 * January 2027 will need Node 22) whenever a process makes its first client; we support Node 20
 * and later with the SDK versions package-lock.json pins. Every S3 and Lambda client is made
 * after this call, which sets the SDK's own switch for the notice unless the user set it.
 */

/** The SDK's switch: `true` turns its Node-version notice off. */
export const AWS_SDK_NODE_NOTICE_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Call before making an AWS SDK client (or credential chain). Processes started from this one
 * (local workers) inherit the setting; a value the user gave, `false` included, is kept.
 *
 * @example quietAwsSdkNodeNotice(); const client = new S3Client({ region });
 */
export function quietAwsSdkNodeNotice(env: NodeJS.ProcessEnv = process.env): void {
  env[AWS_SDK_NODE_NOTICE_ENV] ??= 'true';
}
