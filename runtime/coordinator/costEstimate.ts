/**
 * What a run cost: worker-seconds always, and for Lambda an estimate in dollars from GB-seconds
 * at the function's memory and a per-region x86_64 price table, plus requests. An estimate: it
 * ignores the free tier, Lambda's 1 ms rounding and whatever the account negotiated.
 */

/**
 * AWS Lambda on-demand prices for x86_64 in USD, first duration tier, by region. Regions not
 * listed get no dollar figure rather than a guess.
 */
export const LAMBDA_PRICES = {
  date: '2026-12-01',
  perRequest: 0.2 / 1_000_000,
  perGbSecond: {
    'us-east-1': 0.0000166667,
    'us-east-2': 0.0000166667,
    'us-west-1': 0.0000166667,
    'us-west-2': 0.0000166667,
    'ca-central-1': 0.0000166667,
    'eu-west-1': 0.0000166667,
    'eu-west-2': 0.0000166667,
    'eu-west-3': 0.0000166667,
    'eu-central-1': 0.0000166667,
    'eu-north-1': 0.0000166667,
    'ap-south-1': 0.0000166667,
    'ap-northeast-1': 0.0000166667,
    'ap-northeast-2': 0.0000166667,
    'ap-southeast-1': 0.0000166667,
    'ap-southeast-2': 0.0000166667,
    'sa-east-1': 0.0000166667,
  } as Readonly<Record<string, number>>,
} as const;

export interface LambdaCost {
  memoryMb: number;
  gbSeconds: number;
  /** Invokes accepted (each a billed request). */
  requests: number;
  /** Duration plus requests, in USD; absent when a region has no price in the table. */
  dollars?: number;
  /** Regions used that the table has no price for. */
  unpriced?: string[];
  priceDate: string;
}

export interface RunCost {
  /** Every worker's seconds, from its start to its end (see CostMeter). */
  workerSeconds: number;
  lambda?: LambdaCost;
}

/**
 * @example lambdaCost({ memoryMb: 1536, requests: 100, secondsByRegion: new Map([['us-east-1', 600]]) }).dollars // 0.01502
 */
export function lambdaCost(input: { memoryMb: number; requests: number; secondsByRegion: ReadonlyMap<string, number> }): LambdaCost {
  const gb = input.memoryMb / 1024;
  let gbSeconds = 0;
  let dollars = 0;
  const unpriced: string[] = [];
  for (const [region, seconds] of input.secondsByRegion) {
    gbSeconds += seconds * gb;
    const price = LAMBDA_PRICES.perGbSecond[region];
    if (price === undefined) unpriced.push(region);
    else dollars += seconds * gb * price;
  }
  dollars += input.requests * LAMBDA_PRICES.perRequest;
  return {
    memoryMb: input.memoryMb,
    gbSeconds,
    requests: input.requests,
    ...(unpriced.length === 0 ? { dollars } : { unpriced }),
    priceDate: LAMBDA_PRICES.date,
  };
}

/** `12.3 worker-s`, plus `, ~$0.0021 on Lambda (1536 MB)` when there is an estimate. */
export function formatCost(cost: RunCost): string {
  const base = `${cost.workerSeconds.toFixed(1)} worker-s`;
  const lambda = cost.lambda;
  if (!lambda) return base;
  if (lambda.dollars === undefined) return `${base}, ${lambda.gbSeconds.toFixed(1)} GB-s on Lambda (no price for ${lambda.unpriced!.join(', ')} in the table of ${lambda.priceDate})`;
  return `${base}, ~$${lambda.dollars.toFixed(lambda.dollars < 0.01 ? 5 : 2)} on Lambda (${lambda.gbSeconds.toFixed(1)} GB-s at ${lambda.memoryMb} MB, ${lambda.requests} requests; prices of ${lambda.priceDate})`;
}
