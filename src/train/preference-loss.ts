// The DPO and KTO losses on sequence log-probabilities, as TRL's DPOTrainer and KTOTrainer define them, with
// their gradients with respect to the policy's log-probabilities (the reference ones are constants), so the
// model's backward is seeded with them. All in float64 on per-sequence numbers; nothing here touches tensors.
//   DPO: d = (pi_c - ref_c) - (pi_r - ref_r); sigmoid (with label smoothing: conservative DPO, TRL < 0.29's
//        sigmoid loss) -(1-e) log s(b d) - e log s(-b d); robust ((1-e) and -e terms over 1-2e); hinge
//        relu(1 - b d); IPO (d over per-token averages - 1/(2b))^2.
//   KTO: z = max(0, mean(pi_KL - ref_KL)); desirable 1 - s(b (r - z)), undesirable 1 - s(b (z - r)), weighted.

export type DpoLossType = 'sigmoid' | 'ipo' | 'hinge' | 'robust';

export interface DpoSettings {
  beta: number;
  lossType: DpoLossType;
  /** label smoothing e (sigmoid: conservative DPO; robust: the flip probability); 0 = plain DPO */
  labelSmoothing: number;
}

export interface KtoSettings {
  beta: number;
  desirableWeight: number;
  undesirableWeight: number;
}

export interface PairScores {
  /** [P] summed completion log-probabilities under the policy and the reference */
  policyChosen: ArrayLike<number>;
  policyRejected: ArrayLike<number>;
  refChosen: ArrayLike<number>;
  refRejected: ArrayLike<number>;
  /** [P] completion tokens (IPO averages per token) */
  chosenTokens: ArrayLike<number>;
  rejectedTokens: ArrayLike<number>;
}

export interface PerSequenceLoss {
  /** per pair (DPO) or per example (KTO) */
  losses: Float64Array;
  /** d loss_i / d policy log-prob, for the chosen (or the example's) and the rejected sequence */
  dChosen: Float64Array;
  dRejected: Float64Array;
}

export function logSigmoid(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Loss of one pair and its derivative with respect to the chosen and rejected log-ratios. */
function pairTerm(c: number, r: number, nc: number, nr: number, o: DpoSettings): [number, number, number] {
  const { beta: b, labelSmoothing: e } = o;
  const d = c - r;
  switch (o.lossType) {
    case 'sigmoid': {
      const loss = -(1 - e) * logSigmoid(b * d) - e * logSigmoid(-b * d);
      const dd = -(1 - e) * b * sigmoid(-b * d) + e * b * sigmoid(b * d);
      return [loss, dd, -dd];
    }
    case 'robust': {
      const loss = (-(1 - e) * logSigmoid(b * d) + e * logSigmoid(-b * d)) / (1 - 2 * e);
      const dd = (-(1 - e) * b * sigmoid(-b * d) - e * b * sigmoid(b * d)) / (1 - 2 * e);
      return [loss, dd, -dd];
    }
    case 'hinge': {
      const m = 1 - b * d;
      return m > 0 ? [m, -b, b] : [0, 0, 0];
    }
    case 'ipo': {
      // TRL averages the log-ratios over the completion tokens (clamped at 1) before the square
      const ac = Math.max(1, nc);
      const ar = Math.max(1, nr);
      const u = c / ac - r / ar - 1 / (2 * b);
      return [u * u, (2 * u) / ac, (-2 * u) / ar];
    }
  }
}

/** Per-pair DPO losses and their gradients with respect to the policy's chosen and rejected log-probabilities. */
export function dpoLosses(s: PairScores, o: DpoSettings): PerSequenceLoss {
  const P = s.policyChosen.length;
  const out: PerSequenceLoss = { losses: new Float64Array(P), dChosen: new Float64Array(P), dRejected: new Float64Array(P) };
  for (let i = 0; i < P; i++) {
    const c = s.policyChosen[i] - s.refChosen[i];
    const r = s.policyRejected[i] - s.refRejected[i];
    const [loss, dc, dr] = pairTerm(c, r, s.chosenTokens[i], s.rejectedTokens[i], o);
    out.losses[i] = loss;
    out.dChosen[i] = dc;
    out.dRejected[i] = dr;
  }
  return out;
}

/** KTO's KL estimate of a micro-batch: the mean log-ratio of the mismatched (prompt, other completion)
 *  sequences, clamped at 0, a constant for the gradient (TRL detaches it). */
export function ktoKl(policyKl: ArrayLike<number>, refKl: ArrayLike<number>): number {
  if (policyKl.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < policyKl.length; i++) s += policyKl[i] - refKl[i];
  return Math.max(0, s / policyKl.length);
}

/** Per-example KTO losses (weights applied) and their gradients with respect to the policy log-probabilities;
 *  dRejected is unused (zeros). */
export function ktoLosses(policy: ArrayLike<number>, ref: ArrayLike<number>, labels: readonly boolean[], kl: number, o: KtoSettings): PerSequenceLoss {
  const n = policy.length;
  const out: PerSequenceLoss = { losses: new Float64Array(n), dChosen: new Float64Array(n), dRejected: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const r = policy[i] - ref[i];
    // desirable: 1 - s(b (r - z)); undesirable: 1 - s(b (z - r)); d/dr (1 - s(x)) = -s(x)(1 - s(x)) dx/dr
    const x = labels[i] ? o.beta * (r - kl) : o.beta * (kl - r);
    const w = labels[i] ? o.desirableWeight : o.undesirableWeight;
    const sx = sigmoid(x);
    out.losses[i] = w * (1 - sx);
    out.dChosen[i] = -w * sx * (1 - sx) * (labels[i] ? o.beta : -o.beta);
  }
  return out;
}
