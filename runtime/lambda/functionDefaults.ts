/**
 * The Lambda function's defaults that more than lambdaize needs (the run's cost estimate, the
 * state wait kept under the timeout), in a module of their own so that reading them loads no AWS SDK.
 */

/** `lambdaize --memory`: MB of memory, and so of CPU, each worker gets. */
export const DEFAULT_FUNCTION_MEMORY_MB = 1536;

/** `lambdaize --timeout`: seconds a worker may run. */
export const DEFAULT_FUNCTION_TIMEOUT_S = 180;
