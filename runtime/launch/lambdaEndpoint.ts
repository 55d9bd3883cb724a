/**
 * Where Lambda Invokes go when not to AWS's own endpoints: one module of its own, without the
 * SDK, so that the run's options can tell a run against AWS from one against a Lambda-compatible
 * API of one's own before anything heavy is loaded.
 */
import { ConfigError } from '../../common/errors.js';

/**
 * The endpoint every region's Invokes go to when one is set: the option, else the SDK's standard
 * environment (`AWS_ENDPOINT_URL_LAMBDA`, then `AWS_ENDPOINT_URL`), unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
 *
 * @example resolveEndpointOverride(undefined, { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:4566' })?.href // 'http://127.0.0.1:4566/'
 */
export function resolveEndpointOverride(option: string | undefined, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const fromEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true' ? undefined : (env.AWS_ENDPOINT_URL_LAMBDA ?? env.AWS_ENDPOINT_URL);
  const text = option ?? fromEnv;
  if (text === undefined || text === '') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`Lambda endpoint ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`Lambda endpoint must be http(s), got ${url.protocol}`);
  return url;
}

