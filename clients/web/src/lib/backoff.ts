export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** No delay grows past this. */
  maxMs: number;
  /** Growth per attempt; 2 doubles. */
  factor?: number;
  /** Share of each delay that is random, 0–1, so clients that failed together do not retry together. */
  jitter?: number;
}

/** The delay before retry number `attempt` (0 for the first retry): exponential, capped, with jitter below the cap. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const factor = options.factor ?? 2;
  const jitter = Math.min(Math.max(options.jitter ?? 0.5, 0), 1);
  const exponential = options.initialMs * Math.pow(factor, Math.max(0, attempt));
  const capped = Math.min(options.maxMs, exponential);
  return Math.round(capped * (1 - jitter + jitter * random()));
}
