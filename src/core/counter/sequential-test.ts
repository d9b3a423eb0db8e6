/**
 * The anytime-valid sequential test of CompareCounts (DESIGN 4.6): is the stream of
 * increments of k counters (the arms of an experiment) consistent with rates in the
 * proportions of the assignment probabilities ρ?
 *
 * The test is a Dirichlet-multinomial Bayes factor against the point null "each increment
 * lands on arm i with probability ρ_i", with a Dirichlet(c·ρ) mixture as the alternative
 * (Lindon et al., "Anytime Valid Inference for Multinomial Count Data"). The Bayes factor
 * is a non-negative martingale under the null, so by Ville's inequality 1/BF stays above
 * α with probability at least 1 − α over the whole path: the running minimum of 1/BF is a
 * p-value valid at any stopping time, which is why the replay may look after every event.
 *
 * Pure arithmetic: no I/O, no clock. The counter service replays event logs into
 * {@link SequentialTest}.
 */

const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(x) for x > 0, to about 1e-15 relative: the recurrence Γ(x) = Γ(x+1)/x lifts small
 * arguments above 15, where Stirling's series with five correction terms converges to
 * double precision.
 */
export function lnGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`lnGamma: ${x} is not a positive finite number`);
  let shift = 0;
  while (x < 15) {
    shift += Math.log(x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Bernoulli terms B2k / (2k(2k-1) x^(2k-1)), k = 1..6.
  const series =
    inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188 - inv2 * (691 / 360360))))));
  return (x - 0.5) * Math.log(x) - x + HALF_LN_2PI + series - shift;
}

/** The arms' prior and null: assignment probabilities ρ and the concentration c. */
export interface SequentialTestOptions {
  /** ρ_i > 0, one per arm (k ≥ 2), summing to 1 (within 1e-9). */
  assignmentProbabilities: readonly number[];
  /** c > 0: the Dirichlet prior is α_i = c·ρ_i. Default 100. */
  concentration?: number;
}

/** Default Dirichlet concentration of DESIGN 4.6. */
export const DEFAULT_CONCENTRATION = 100;

/**
 * log BF for counts n under the null ρ with prior α = c·ρ (DESIGN 4.6):
 * lnΓ(Σα) − lnΓ(Σα + Σn) + Σ[lnΓ(α_i + n_i) − lnΓ(α_i)] − Σ n_i·ln ρ_i.
 */
export function logBayesFactor(counts: readonly number[], rho: readonly number[], concentration = DEFAULT_CONCENTRATION): number {
  if (counts.length !== rho.length) throw new RangeError('counts and assignment probabilities differ in length');
  let sumAlpha = 0;
  let sumN = 0;
  let arms = 0;
  for (let i = 0; i < rho.length; i++) {
    const alpha = concentration * (rho[i] as number);
    const n = counts[i] as number;
    sumAlpha += alpha;
    sumN += n;
    arms += lnGamma(alpha + n) - lnGamma(alpha) - (n === 0 ? 0 : n * Math.log(rho[i] as number));
  }
  return lnGamma(sumAlpha) - lnGamma(sumAlpha + sumN) + arms;
}

/** The p-value of one evaluation: min(1, 1/BF). */
export function pValueOf(logBf: number): number {
  return logBf <= 0 ? 1 : Math.exp(-logBf);
}

/**
 * Checks ρ and c; returns a message naming what is wrong, or undefined. The service turns
 * a message into INVALID_ARGUMENT on its wire field.
 */
export function checkSequentialTestOptions(options: SequentialTestOptions): string | undefined {
  const rho = options.assignmentProbabilities;
  if (rho.length < 2) return 'at least two arms are needed';
  let sum = 0;
  for (let i = 0; i < rho.length; i++) {
    const p = rho[i] as number;
    if (!Number.isFinite(p) || p <= 0 || p >= 1) return `[${i}]: ${p} is not a probability in (0, 1)`;
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-9) return `must sum to 1 (they sum to ${sum})`;
  const c = options.concentration ?? DEFAULT_CONCENTRATION;
  if (!Number.isFinite(c) || c <= 0 || c > 1e12) return `concentration ${c} must be a positive finite number`;
  return undefined;
}

/** The state of a replay after some increments. */
export interface SequentialTestResult {
  /** Increments seen per arm. */
  counts: number[];
  /** log BF at the current counts. */
  logBayesFactor: number;
  /** The running minimum over the path of min(1, 1/BF): the anytime-valid p-value. */
  pValue: number;
  /** How many increments (all arms) had been seen when pValue first fell below α; undefined if never. */
  firstBelowAlphaAt?: number;
}

/**
 * A running sequential test: feed increments in time order with {@link observe}; the
 * p-value is re-evaluated after each one, so the running minimum is over the exact path.
 */
export class SequentialTest {
  private readonly rho: readonly number[];
  private readonly concentration: number;
  private readonly counts: number[];
  private seen = 0;
  private minP = 1;
  private firstBelow: number | undefined;
  private lastLogBf = 0;

  /** @param alpha the level whose first crossing is reported (default 0.05). */
  constructor(options: SequentialTestOptions, private readonly alpha = 0.05) {
    const problem = checkSequentialTestOptions(options);
    if (problem) throw new RangeError(`assignment probabilities ${problem}`);
    this.rho = [...options.assignmentProbabilities];
    this.concentration = options.concentration ?? DEFAULT_CONCENTRATION;
    this.counts = this.rho.map(() => 0);
  }

  /**
   * Records `increments` (≥ 1) on arm `arm` and returns true when this made the p-value
   * fall below α for the first time. A multi-unit increment is one step of the path: the
   * running minimum is taken after it, which can only make the p-value larger (more
   * conservative) than looking between its units.
   */
  observe(arm: number, increments = 1): boolean {
    if (!Number.isInteger(increments) || increments < 1) throw new RangeError(`increments ${increments} must be a positive integer`);
    if (arm < 0 || arm >= this.counts.length) throw new RangeError(`arm ${arm} out of range`);
    this.counts[arm] = (this.counts[arm] as number) + increments;
    this.seen += increments;
    this.lastLogBf = logBayesFactor(this.counts, this.rho, this.concentration);
    const p = pValueOf(this.lastLogBf);
    if (p < this.minP) this.minP = p;
    if (this.firstBelow === undefined && this.minP < this.alpha) {
      this.firstBelow = this.seen;
      return true;
    }
    return false;
  }

  /** The result so far. */
  result(): SequentialTestResult {
    const out: SequentialTestResult = { counts: [...this.counts], logBayesFactor: this.lastLogBf, pValue: this.minP };
    if (this.firstBelow !== undefined) out.firstBelowAlphaAt = this.firstBelow;
    return out;
  }
}
