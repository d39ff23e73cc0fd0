// The error function in double precision (for exact GELU), accurate to a few ulps on the whole real line.
// Series: erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*5*...*(2n+1))  (Abramowitz & Stegun 7.1.6).

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x). The series above has only same-signed terms, so it never cancels; beyond |x| = 6 erf is 1 in
 *  double precision (erfc(6) ~ 2e-17), so the series is only summed for |x| < 6 (at most ~130 terms). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 6) return 1;
  if (x <= -6) return -1;
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 400; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}
