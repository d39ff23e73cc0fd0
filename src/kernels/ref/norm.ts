// Reference RMSNorm (Llama) and LayerNorm over rows of width C, with backward passes that accumulate.
// Shapes: x, out, dout, dx [N, C]; w, b, dw, db [C]; mean, rstd [N].
import type { FA } from './types.js';

/** out = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps) */
export function rmsnorm(out: FA, rstd: FA, x: FA, w: FA, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] * r * w[c];
  }
}

/** With xhat = x * rstd and g = dout * w: dx += rstd * (g - xhat * mean(g * xhat)); dw += sum_n dout * xhat. */
export function rmsnormBackward(dx: FA, dw: FA | null, dout: FA, x: FA, w: FA, rstd: FA, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let dot = 0; // sum_c g * xhat
    for (let c = 0; c < C; c++) dot += dout[o + c] * w[c] * x[o + c] * r;
    const m = dot / C;
    for (let c = 0; c < C; c++) {
      const xhat = x[o + c] * r;
      dx[o + c] += r * (dout[o + c] * w[c] - xhat * m);
      if (dw) dw[c] += dout[o + c] * xhat;
    }
  }
}

/** out = (x - mean) * rstd * w + b, rstd = 1 / sqrt(var + eps) with the biased variance (PyTorch) */
export function layernorm(out: FA, mean: FA, rstd: FA, x: FA, w: FA, b: FA | null, N: number, C: number,
  eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += x[o + c];
    const mu = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[o + c] - mu) * (x[o + c] - mu);
    const r = 1 / Math.sqrt(v / C + eps);
    mean[n] = mu;
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - mu) * r * w[c] + (b ? b[c] : 0);
  }
}

/** With xhat = (x - mean) * rstd and g = dout * w: dx += rstd * (g - mean(g) - xhat * mean(g * xhat));
 *  dw += sum_n dout * xhat; db += sum_n dout. */
export function layernormBackward(dx: FA, dw: FA | null, db: FA | null, dout: FA, x: FA, w: FA,
  mean: FA, rstd: FA, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const mu = mean[n];
    const r = rstd[n];
    let gSum = 0;
    let gxSum = 0;
    for (let c = 0; c < C; c++) {
      const g = dout[o + c] * w[c];
      gSum += g;
      gxSum += g * (x[o + c] - mu) * r;
    }
    const gMean = gSum / C;
    const gxMean = gxSum / C;
    for (let c = 0; c < C; c++) {
      const xhat = (x[o + c] - mu) * r;
      dx[o + c] += r * (dout[o + c] * w[c] - gMean - xhat * gxMean);
      if (dw) dw[c] += dout[o + c] * xhat;
      if (db) db[c] += dout[o + c];
    }
  }
}
