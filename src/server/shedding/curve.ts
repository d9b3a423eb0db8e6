/**
 * The shedding curve of DESIGN 8 (Netflix's progressive shedding, mirrored so that a
 * higher priority means more important): each overload signal gives a fraction in [0, 1]
 * between its throttle threshold and its maximum, the worst one wins, and requests with
 * priority ≤ 100·x³ are shed. Pure functions: unit-tested with injected values.
 */

/** A signal's throttle threshold (shedding starts above it) and maximum (everything shed). */
export interface SignalLimit {
  threshold: number;
  max: number;
}

/** Fraction of the way from `limit.threshold` to `limit.max`, clamped to [0, 1]. */
export function signalFraction(value: number, limit: SignalLimit): number {
  if (!(value > limit.threshold)) return 0;
  if (value >= limit.max) return 1;
  return (value - limit.threshold) / (limit.max - limit.threshold);
}

/** Highest priority shed at overload `x`: 100·x³ (0 at x = 0, 100 at x = 1). */
export function shedCeiling(x: number): number {
  return 100 * x * x * x;
}

/** True when a request of `priority` (1-100) is shed at overload `x`. */
export function isShed(priority: number, x: number): boolean {
  return x > 0 && priority <= shedCeiling(x);
}

/** What a shed client is told: how long to wait and how many times it may retry. */
export interface RetryAdvice {
  retryAfterSeconds: number;
  maxRetries: number;
}

/**
 * More generous for higher priorities: they wait less and may retry more. Priority 100
 * waits 1 s with 3 retries; priorities below 20 wait 5 s and should not retry.
 */
export function retryAdvice(priority: number): RetryAdvice {
  const retryAfterSeconds = 1 + Math.floor((100 - priority) / 20);
  const maxRetries = priority >= 80 ? 3 : priority >= 50 ? 2 : priority >= 20 ? 1 : 0;
  return { retryAfterSeconds, maxRetries };
}
