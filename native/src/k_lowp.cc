// bf16 mixed-precision training kernels (lowp.h): the epilogue and backward operand of linear layers with a LoRA
// branch in the same GEMM, SwiGLU on bf16, norms writing bf16 GEMM operands, the residual add fused into the norm.
// Rows run in parallel in static blocks, and every sum has a fixed order, so results repeat exactly.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu_path.h"
#include "fastmath.h"
#include "gemm_backend.h"
#include "lowp.h"
#include "vec8.h"

namespace sh {

namespace {
// A C this short (a LoRA rank, at most kSkinnyRows rows): A^T B (a LoRA factor's gradient du^T x) is
// gemm_bf16_short_tn's; any other form of at least kSkinnyWork multiply-adds goes out in blocks of kSkinnyBlock
// columns, each block a oneDNN call with a fixed cost (du^T x at 8 x 576 x 1,024 took 67 / 44 us as one call on one /
// two threads, whose sums change with the thread count, 92 / 55 us in blocks of 64, 81 / 50 in blocks of 96, 77 / 53
// in blocks of 192: same process, alternating).
constexpr i64 kSkinnyRows = 32;
constexpr i64 kSkinnyBlock = 96;
constexpr i64 kSkinnyWork = 1 << 20;
void gemm_bf16_short_tn(float* c, i64 ldc, float beta, const uint16_t* u16, i64 ldu, const uint16_t* x, i64 ldx,
                        i64 N, i64 R, i64 O);
}  // namespace

void gemm_bf16_ld(float* c, const uint16_t* a16, const uint16_t* b16, i64 M, i64 N, i64 K, bool ta, bool tb,
                  float beta, i64 lda, i64 ldb, i64 ldc) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    for (i64 m = 0; m < M; ++m)
      for (i64 n = 0; n < N; ++n) c[m * ldc + n] = beta == 0.0f ? 0.0f : beta * c[m * ldc + n];
    return;
  }
  // a LoRA factor's gradient du^T x (r rows of C, K the tokens): oneDNN splits so short a product over few threads,
  // its sums depending on how many; each column is summed over the tokens by one thread instead
  if (ta && !tb && M <= kSkinnyRows) {
    gemm_bf16_short_tn(c, ldc, beta, a16, lda, b16, ldb, K, M, N);
    return;
  }
  // other products this short: their columns go out in fixed blocks
  if (M <= kSkinnyRows && N >= 2 * kSkinnyBlock && M * N * K >= kSkinnyWork) {
    gemm_bf16_rm_cols(ta, tb, M, N, K, 1.0f, a16, lda, b16, ldb, beta, c, ldc, kSkinnyBlock);
    return;
  }
  // a product with a long sum (the LM head's backward along the vocabulary, a weight's gradient over many tokens):
  // fixed chunks of K, added in order
  if (const i64 kb = long_k_block(M, N, K)) {
    gemm_bf16_rm_ksplit(ta, tb, M, N, K, 1.0f, a16, lda, b16, ldb, beta, c, ldc, kb);
    return;
  }
  gemm_bf16_rm(ta, tb, M, N, K, 1.0f, a16, lda, b16, ldb, beta, c, ldc);
}

namespace {

/** r(B) transposed to [R, O] as floats holding bf16 values: row r is the LoRA B column r, contiguous in o. */
std::vector<float> rounded_bt(const float* B, i64 O, i64 R) {
  std::vector<float> bt(static_cast<size_t>(R * O));
  for (i64 o = 0; o < O; ++o)
    for (i64 r = 0; r < R; ++r) bt[static_cast<size_t>(r * O + o)] = bf16_snap(B[o * R + r]);
  return bt;
}

typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));
typedef uint16_t u16x8 __attribute__((vector_size(16)));

// The bf16 rounding steps on a vector of floats F (8 or 16 lanes) with unsigned U, signed I and uint16 H vectors of
// the same lane count: one body for both widths (always inlined, so the 16-lane use compiles in its AVX-512 caller).

/** bf16_round on each lane, the result kept in the high halves (the bits of bf16_snap): nearest even, NaN quiet. */
template <typename U, typename I, typename F>
__attribute__((always_inline)) inline U round_hi(const F& f) {
  U u;
  std::memcpy(&u, &f, sizeof u);
  const U r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const U nan = (u | 0x00400000u) & 0xffff0000u;
  I mag;  // |f| as bits: a non-negative int32, so a signed compare (AVX2 has no unsigned one) tells NaNs
  const U m = u & 0x7fffffffu;
  std::memcpy(&mag, &m, sizeof mag);
  const I is_nan = mag > 0x7f800000;
  return is_nan ? nan : r;
}

/** bf16_snap on each lane */
template <typename U, typename I, typename F>
__attribute__((always_inline)) inline F snap_lanes(const F& f) {
  const U h = round_hi<U, I>(f);
  F out;
  std::memcpy(&out, &h, sizeof out);
  return out;
}

/** bf16_round on each lane, stored as bf16 values at dst */
template <typename U, typename I, typename H, typename F>
__attribute__((always_inline)) inline void store_round_lanes(uint16_t* dst, const F& f) {
  const H h = __builtin_convertvector(round_hi<U, I>(f) >> 16, H);
  std::memcpy(dst, &h, sizeof h);
}

inline u32x8 round_hi8(const v8& f) { return round_hi<u32x8, i32x8>(f); }
inline v8 snap8(const v8& f) { return snap_lanes<u32x8, i32x8>(f); }
inline void store_round8(uint16_t* dst, const v8& f) { store_round_lanes<u32x8, i32x8, u16x8>(dst, f); }

/** A LoRA scale that is a power of two >= 1 (alpha / r = 2, say): a bf16 value times it is a bf16 value. */
inline bool exact_scale_of(float s) {
  int exp2 = 0;
  return s >= 1.0f && std::frexp(s, &exp2) == 0.5f;
}

#ifdef SH_LOWP_512
#define SH_512_INLINE __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl"), always_inline)) inline

typedef float v16 __attribute__((vector_size(64)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef uint16_t u16x16 __attribute__((vector_size(32)));

SH_512_INLINE v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

SH_512_INLINE u32x16 round_hi16(const v16& f) { return round_hi<u32x16, i32x16>(f); }
SH_512_INLINE v16 snap16(const v16& f) { return snap_lanes<u32x16, i32x16>(f); }
SH_512_INLINE void store_round16(uint16_t* dst, const v16& f) { store_round_lanes<u32x16, i32x16, u16x16>(dst, f); }

/** y[o..o+16) = r(r(row + bias) + r(r(acc) s)), as the 8-lane epilogue */
SH_512_INLINE void out16(uint16_t* y, const float* row, const float* bias, const v16 acc, i64 o, const v16& sv,
                         bool exact_scale) {
  const v16 lora = exact_scale ? snap16(acc) * sv : snap16(snap16(acc) * sv);
  v16 base = load16(row + o);
  if (bias != nullptr) base += load16(bias + o);
  store_round16(y + o, snap16(base) + lora);
}

/** bf16_linear_out's LoRA columns [o_lo, o_hi) (multiples of 64) of one row in 16 lanes, four accumulators at a
 *  time: every output adds the same products in the same order as the 8-lane loop and goes through the same
 *  roundings (the same bits). */
SH_512 void linear_out_row512(uint16_t* y, const float* row, const float* bias, const float* bt, const float* ur, i64 O,
                              i64 o_lo, i64 o_hi, i64 R, float s, bool exact_scale) {
  const v16 sv = {s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
  for (i64 o0 = o_lo; o0 < o_hi; o0 += 64) {
    v16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (i64 r = 0; r < R; ++r) {
      const float ui = ur[r];
      const v16 uv = {ui, ui, ui, ui, ui, ui, ui, ui, ui, ui, ui, ui, ui, ui, ui, ui};
      const float* b = bt + r * O + o0;
      a0 += uv * load16(b);
      a1 += uv * load16(b + 16);
      a2 += uv * load16(b + 32);
      a3 += uv * load16(b + 48);
    }
    out16(y, row, bias, a0, o0, sv, exact_scale);
    out16(y, row, bias, a1, o0 + 16, sv, exact_scale);
    out16(y, row, bias, a2, o0 + 32, sv, exact_scale);
    out16(y, row, bias, a3, o0 + 48, sv, exact_scale);
  }
}

/** bf16_linear_grad's elementwise pass (a scale that is not a power of two) over the first O / 16 * 16 columns of
 *  one row in 16 lanes: g = r(dy), d = r(r(dy) s), the same bits as 8 lanes. Returns the columns done. */
SH_512 i64 linear_grad_row512(uint16_t* g, float* d, const float* dr, i64 O, float s) {
  const v16 sv = {s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
  i64 o = 0;
  for (; o + 16 <= O; o += 16) {
    const u32x16 h = round_hi16(load16(dr + o));
    const u16x16 h16 = __builtin_convertvector(h >> 16, u16x16);
    std::memcpy(g + o, &h16, sizeof h16);
    v16 rv;
    std::memcpy(&rv, &h, sizeof rv);
    const v16 dd = snap16(rv * sv);
    std::memcpy(d + o, &dd, sizeof dd);
  }
  return o;
}
#endif

}  // namespace

#ifdef SH_LOWP_512
/** The 16-lane paths run: the CPU has AVX-512F/BW/VL and SHITATE_LOWP_512 is not 0. */
bool lowp_512() {
  static const bool yes = fast_path("SHITATE_LOWP_512", "0", [] {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  });
  return yes;
}
#else
bool lowp_512() { return false; }
#endif

const char* lowp_elementwise_path() { return lowp_512() ? "avx512" : "avx2"; }

namespace {
constexpr i64 kOutRows = 16;      // bf16_linear_out's rows per block
constexpr i64 kOutSpan = 2048;    // r(B) floats per span of 16-lane columns, when the whole of r(B) ...
constexpr i64 kOutWhole = 6144;   // ... is more than this many floats (24 KB, at home in L1 for a block's rows)
}  // namespace

void bf16_linear_out(uint16_t* y16, uint16_t* u16, const float* yext, const float* bias, const float* B, float s,
                     i64 N, i64 O, i64 R) {
  const i64 ld = O + R;
  if (R == 0) {
    SH_PARALLEL_FOR(N * O)
    for (i64 n = 0; n < N; ++n) {
      const float* row = yext + n * ld;
      uint16_t* y = y16 + n * O;
      if (bias != nullptr)
        for (i64 o = 0; o < O; ++o) y[o] = bf16_round(row[o] + bias[o]);
      else
        for (i64 o = 0; o < O; ++o) y[o] = bf16_round(row[o]);
    }
    return;
  }
  const std::vector<float> bt = rounded_bt(B, O, R);
  const i64 O16 = O / 16 * 16;
  const bool exact_scale = exact_scale_of(s);
  const bool wide = lowp_512();
  // rows in blocks of kOutRows; where r(B) is larger than L1 likes, the 16-lane columns of a block go in spans for
  // all its rows in turn, so that the span's r(B) rows (kOutSpan floats) stay in L1 for the block: one row at a time
  // over all O columns read all of r(B) from L2 for every row (R x O floats, 48 KB at O 1,536 and r 8: 750 us at N
  // 1,024 on one thread, 513 in spans of 256 columns; 183 us at O 576, whose 18 KB stay whole)
  const i64 blocks = (N + kOutRows - 1) / kOutRows;
  const i64 span = R * (O / 64 * 64) <= kOutWhole ? O : std::max<i64>(64, kOutSpan / R / 64 * 64);
#pragma omp parallel num_threads(team_size(N * ld))
  {
    std::vector<float> urs(static_cast<size_t>(kOutRows * R));
#pragma omp for schedule(static)
    for (i64 b = 0; b < blocks; ++b) {
      const i64 n0 = b * kOutRows, n1 = std::min(N, n0 + kOutRows);
      for (i64 n = n0; n < n1; ++n)
        for (i64 r = 0; r < R; ++r) {
          const uint16_t h = bf16_round(yext[n * ld + O + r]);
          u16[n * R + r] = h;
          urs[static_cast<size_t>((n - n0) * R + r)] = bf16_widen(h);
        }
      i64 start = 0;
#ifdef SH_LOWP_512
      if (wide) {
        start = O / 64 * 64;
        for (i64 o0 = 0; o0 < start; o0 += span)
          for (i64 n = n0; n < n1; ++n)
            linear_out_row512(y16 + n * O, yext + n * ld, bias, bt.data(), urs.data() + (n - n0) * R, O, o0,
                              std::min(start, o0 + span), R, s, exact_scale);
      }
#endif
      for (i64 n = n0; n < n1; ++n) {
        const float* row = yext + n * ld;
        uint16_t* y = y16 + n * O;
        const float* ur = urs.data() + (n - n0) * R;
        // the LoRA term of 16 outputs at a time, summed over r in order in registers, then the epilogue on them
        const v8 sv = {s, s, s, s, s, s, s, s};
        const float* btp = bt.data();
        // two named accumulators (an indexed array would live in memory, each r step waiting on a store)
        const auto finish = [&](const v8& acc, i64 o) {
          // the scaled LoRA term; a bf16 value times a power of two >= 1 (alpha / r = 2, say) is a bf16 value already
          const v8 lora = exact_scale ? snap8(acc) * sv : snap8(snap8(acc) * sv);
          v8 base = load8(row + o);
          if (bias != nullptr) base += load8(bias + o);
          store_round8(y + o, snap8(base) + lora);
        };
        for (i64 o0 = start; o0 < O16; o0 += 16) {
          v8 a0 = {}, a1 = {};
          for (i64 r = 0; r < R; ++r) {
            const float ui = ur[r];
            const v8 uv = {ui, ui, ui, ui, ui, ui, ui, ui};
            a0 += uv * load8(btp + r * O + o0);
            a1 += uv * load8(btp + r * O + o0 + 8);
          }
          finish(a0, o0);
          finish(a1, o0 + 8);
        }
        for (i64 o = O16; o < O; ++o) {
          float v = 0.0f;
          for (i64 r = 0; r < R; ++r) v += ur[r] * bt[static_cast<size_t>(r * O + o)];
          const float lora = bf16_snap(bf16_snap(v) * s);
          y[o] = bf16_round(bf16_snap(bias != nullptr ? row[o] + bias[o] : row[o]) + lora);
        }
      }
    }
  }
}

namespace {

// bf16_linear_grad when s is a power of two >= 1 (alpha / r = 2, say): then dv = r(r(dy) s) = r(dy) s exactly, so
// du = s (r(dy) . r(B)) and dB^T = s (u^T r(dy)) need no dv buffer: one pass over dy writes g16 and the row's du from
// the row in L1, and dB is summed by columns from g16. Both widths sum in one order, so they give the same bits:
// du[n, r] as 16 lanes over blocks of 16 columns (lane l and l + 8 added first, then a fixed tree, then the tail
// columns in order), dB per column over each block of 64 rows in order, then the blocks' sums in order (a fixed
// blocking: the thread count changes no bits).

/** The lanes of a 16-lane sum held as two halves: (lo + hi), then a fixed tree. */
inline float reduce_halves(const v8& lo, const v8& hi) {
  const v8 m = lo + hi;
  return ((m[0] + m[4]) + (m[1] + m[5])) + ((m[2] + m[6]) + (m[3] + m[7]));
}

/** g[0, O) = r(dr), d[0, O) = those values as floats, in vectors F of L lanes (round_hi's types), then the tail. */
template <typename U, typename I, typename H, typename F>
__attribute__((always_inline)) inline void round_row(uint16_t* g, float* d, const float* dr, i64 O) {
  constexpr i64 L = sizeof(F) / sizeof(float);
  i64 o = 0;
  for (; o + L <= O; o += L) {
    F x;
    std::memcpy(&x, dr + o, sizeof x);
    const U h = round_hi<U, I>(x);
    const H h16 = __builtin_convertvector(h >> 16, H);
    std::memcpy(g + o, &h16, sizeof h16);
    std::memcpy(d + o, &h, sizeof h);
  }
  for (; o < O; ++o) {
    g[o] = bf16_round(dr[o]);
    d[o] = bf16_widen(g[o]);
  }
}

inline void round_row8(uint16_t* g, float* d, const float* dr, i64 O) { round_row<u32x8, i32x8, u16x8, v8>(g, d, dr, O); }

/** du for one row from its rounded values d (8-lane halves, four r at a time). */
void row_du8(uint16_t* gr, const float* d, const float* bt, i64 O, i64 R, float s) {
  const i64 O16 = O / 16 * 16;
  for (i64 r0 = 0; r0 < R; r0 += 4) {
    const i64 rn = std::min<i64>(4, R - r0);
    const float* b0 = bt + r0 * O;
    const float* b1 = rn > 1 ? b0 + O : b0;
    const float* b2 = rn > 2 ? b0 + 2 * O : b0;
    const float* b3 = rn > 3 ? b0 + 3 * O : b0;
    v8 l0 = {}, h0 = {}, l1 = {}, h1 = {}, l2 = {}, h2 = {}, l3 = {}, h3 = {};
    for (i64 o = 0; o < O16; o += 16) {
      const v8 xl = load8(d + o), xh = load8(d + o + 8);
      l0 += xl * load8(b0 + o); h0 += xh * load8(b0 + o + 8);
      l1 += xl * load8(b1 + o); h1 += xh * load8(b1 + o + 8);
      l2 += xl * load8(b2 + o); h2 += xh * load8(b2 + o + 8);
      l3 += xl * load8(b3 + o); h3 += xh * load8(b3 + o + 8);
    }
    const float t[4] = {reduce_halves(l0, h0), reduce_halves(l1, h1), reduce_halves(l2, h2), reduce_halves(l3, h3)};
    for (i64 j = 0; j < rn; ++j) {
      float v = t[j];
      const float* b = bt + (r0 + j) * O;
      for (i64 o = O16; o < O; ++o) v += d[o] * b[o];
      gr[O + r0 + j] = bf16_round(s * v);
    }
  }
}

template <typename F>
__attribute__((always_inline)) inline F vload(const float* p) {
  F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename F>
__attribute__((always_inline)) inline void vstore(float* p, const F& v) {
  std::memcpy(p, &v, sizeof v);
}

/** Where the sum of (column o, rank r) sits in a block's partial sums: columns in groups of 16, each group's 16
 *  columns of one r side by side, so a vector of 8 or 16 column sums is one store. */
inline i64 part_at(i64 o, i64 r, i64 R) { return ((o >> 4) * R + r) * 16 + (o & 15); }

/** sums[part_at(o, r)] = sum_n u[n, r] x[n, o] over the N rows of one block of the bf16 operand x = r(dy) [N, ldx]
 *  (u [N, R] as floats), every column o < O, in vectors F of L lanes (U, H its uint32 and uint16 twins): 2L columns
 *  by RG r at a time in named accumulators (an array of them stayed in memory and lost the fused multiply-adds),
 *  each column summed over the rows in order, so any width gives the same bits. */
template <typename F, typename U, typename H, int RG>
__attribute__((always_inline)) inline void cols(float* sums, const uint16_t* x, i64 ldx, const float* uf, i64 N, i64 R,
                                                i64 O) {
  static_assert(RG == 4 || RG == 8, "four or eight r per pass");
  constexpr int L = sizeof(F) / sizeof(float);
  const i64 oe = O / (2 * L) * (2 * L);
  for (i64 o = 0; o < oe; o += 2 * L)
    for (i64 r0 = 0; r0 < R; r0 += RG) {
      const i64 rn = std::min<i64>(RG, R - r0);
      i64 q[8];
      for (int j = 0; j < 8; ++j) q[j] = j < rn ? j : 0;
      F a0 = {}, b0 = {}, a1 = {}, b1 = {}, a2 = {}, b2 = {}, a3 = {}, b3 = {};
      F a4 = {}, b4 = {}, a5 = {}, b5 = {}, a6 = {}, b6 = {}, a7 = {}, b7 = {};
      for (i64 n = 0; n < N; ++n) {
        H h0, h1;
        std::memcpy(&h0, x + n * ldx + o, sizeof h0);
        std::memcpy(&h1, x + n * ldx + o + L, sizeof h1);
        const U w0 = __builtin_convertvector(h0, U) << 16, w1 = __builtin_convertvector(h1, U) << 16;
        F x0, x1;
        std::memcpy(&x0, &w0, sizeof x0);
        std::memcpy(&x1, &w1, sizeof x1);
        const float* up = uf + n * R + r0;
        const F u0 = F{} + up[0], u1 = F{} + up[q[1]], u2 = F{} + up[q[2]], u3 = F{} + up[q[3]];
        a0 += u0 * x0; b0 += u0 * x1;
        a1 += u1 * x0; b1 += u1 * x1;
        a2 += u2 * x0; b2 += u2 * x1;
        a3 += u3 * x0; b3 += u3 * x1;
        if (RG == 8) {
          const F u4 = F{} + up[q[4]], u5 = F{} + up[q[5]], u6 = F{} + up[q[6]], u7 = F{} + up[q[7]];
          a4 += u4 * x0; b4 += u4 * x1;
          a5 += u5 * x0; b5 += u5 * x1;
          a6 += u6 * x0; b6 += u6 * x1;
          a7 += u7 * x0; b7 += u7 * x1;
        }
      }
      // the sums leave through a buffer (accumulators copied into an array of vectors made GCC keep them there)
      alignas(64) float buf[16 * L];
      vstore(buf, a0); vstore(buf + L, b0); vstore(buf + 2 * L, a1); vstore(buf + 3 * L, b1);
      vstore(buf + 4 * L, a2); vstore(buf + 5 * L, b2); vstore(buf + 6 * L, a3); vstore(buf + 7 * L, b3);
      if (RG == 8) {
        vstore(buf + 8 * L, a4); vstore(buf + 9 * L, b4); vstore(buf + 10 * L, a5); vstore(buf + 11 * L, b5);
        vstore(buf + 12 * L, a6); vstore(buf + 13 * L, b6); vstore(buf + 14 * L, a7); vstore(buf + 15 * L, b7);
      }
      for (i64 j = 0; j < rn; ++j) {
        vstore(sums + part_at(o, r0 + j, R), vload<F>(buf + 2 * j * L));
        vstore(sums + part_at(o + L, r0 + j, R), vload<F>(buf + (2 * j + 1) * L));
      }
    }
  for (i64 o = oe; o < O; ++o)
    for (i64 r = 0; r < R; ++r) {
      float v = 0.0f;
      for (i64 n = 0; n < N; ++n) v += uf[n * R + r] * bf16_widen(x[n * ldx + o]);
      sums[part_at(o, r, R)] = v;
    }
}

void cols8(float* sums, const uint16_t* x, i64 ldx, const float* uf, i64 N, i64 R, i64 O) {
  cols<v8, u32x8, u16x8, 4>(sums, x, ldx, uf, N, R, O);
}

#ifdef SH_LOWP_512
/** round_row8 and row_du8 in 16 lanes (eight r at a time): the same sums. */
SH_512 void row_grad512(uint16_t* gr, float* d, const float* dr, const float* bt, i64 O, i64 R, float s) {
  round_row<u32x16, i32x16, u16x16, v16>(gr, d, dr, O);
  const i64 O16 = O / 16 * 16;
  for (i64 r0 = 0; r0 < R; r0 += 8) {
    const i64 rn = std::min<i64>(8, R - r0);
    const float* b[8];
    for (int j = 0; j < 8; ++j) b[j] = bt + (r0 + (j < rn ? j : 0)) * O;
    v16 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
    for (i64 q = 0; q < O16; q += 16) {
      const v16 x = load16(d + q);
      a0 += x * load16(b[0] + q); a1 += x * load16(b[1] + q);
      a2 += x * load16(b[2] + q); a3 += x * load16(b[3] + q);
      a4 += x * load16(b[4] + q); a5 += x * load16(b[5] + q);
      a6 += x * load16(b[6] + q); a7 += x * load16(b[7] + q);
    }
    const v16 acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    for (i64 j = 0; j < rn; ++j) {
      v8 lo, hi;  // the 16 lanes as row_du8's two halves, reduced the same way
      std::memcpy(&lo, &acc[j], sizeof lo);
      std::memcpy(&hi, reinterpret_cast<const char*>(&acc[j]) + sizeof lo, sizeof hi);
      float v = reduce_halves(lo, hi);
      for (i64 c = O16; c < O; ++c) v += d[c] * b[j][c];
      gr[O + r0 + j] = bf16_round(s * v);
    }
  }
}

/** row_grad512 for rows [n0, n1) of g16 [N, ld] when r(B) is too large for L1 (R x O floats past kOutWhole): the
 *  rows rounded first, then du's sums over the columns in spans of kOutSpan / R, each span's r(B) rows kept in L1
 *  for all the rows in turn, the sums held in acc [(n1 - n0) x R8] between spans; d = the row's rounded values,
 *  widened back from g16. Every lane adds the same products in the same order as row_grad512 (the same bits). One
 *  row at a time read all of r(B) from L2 for each row: O 1,536, r 8 at N 1,024: 998 -> 791 us on one thread,
 *  499 -> 393 on two (576 columns, whose 18 KB of r(B) stay in L1, keep row_grad512). */
SH_512 void block_grad512(uint16_t* g16, i64 ld, float* d, const float* dy, const float* bt, i64 n0, i64 n1, i64 O,
                          i64 R, float s, float* acc) {
  for (i64 n = n0; n < n1; ++n) round_row<u32x16, i32x16, u16x16, v16>(g16 + n * ld, d, dy + n * O, O);
  const i64 O16 = O / 16 * 16, R8 = (R + 7) / 8 * 8;
  const i64 span = std::max<i64>(16, kOutSpan / R / 16 * 16);
  std::memset(acc, 0, static_cast<size_t>((n1 - n0) * R8 * 16) * sizeof(float));
  for (i64 q0 = 0; q0 < O16; q0 += span) {
    const i64 q1 = std::min(O16, q0 + span);
    for (i64 n = n0; n < n1; ++n) {
      const uint16_t* g = g16 + n * ld;
      for (i64 r0 = 0; r0 < R; r0 += 8) {
        const i64 rn = std::min<i64>(8, R - r0);
        const float* b[8];
        for (int j = 0; j < 8; ++j) b[j] = bt + (r0 + (j < rn ? j : 0)) * O;
        float* ac = acc + ((n - n0) * R8 + r0) * 16;
        v16 a0 = load16(ac), a1 = load16(ac + 16), a2 = load16(ac + 32), a3 = load16(ac + 48);
        v16 a4 = load16(ac + 64), a5 = load16(ac + 80), a6 = load16(ac + 96), a7 = load16(ac + 112);
        for (i64 q = q0; q < q1; q += 16) {
          const __m512 x = widen_bf16x16(g + q);
          a0 += x * load16(b[0] + q); a1 += x * load16(b[1] + q);
          a2 += x * load16(b[2] + q); a3 += x * load16(b[3] + q);
          a4 += x * load16(b[4] + q); a5 += x * load16(b[5] + q);
          a6 += x * load16(b[6] + q); a7 += x * load16(b[7] + q);
        }
        vstore(ac, a0); vstore(ac + 16, a1); vstore(ac + 32, a2); vstore(ac + 48, a3);
        vstore(ac + 64, a4); vstore(ac + 80, a5); vstore(ac + 96, a6); vstore(ac + 112, a7);
      }
    }
  }
  for (i64 n = n0; n < n1; ++n) {
    uint16_t* gr = g16 + n * ld;
    for (i64 j = 0; j < R; ++j) {
      v8 lo, hi;  // row_grad512's reduction of the 16 lanes
      std::memcpy(&lo, acc + ((n - n0) * R8 + j) * 16, sizeof lo);
      std::memcpy(&hi, acc + ((n - n0) * R8 + j) * 16 + 8, sizeof hi);
      float v = reduce_halves(lo, hi);
      const float* bj = bt + j * O;
      for (i64 c = O16; c < O; ++c) v += bf16_widen(gr[c]) * bj[c];
      gr[O + j] = bf16_round(s * v);
    }
  }
}

/** cols in 16 lanes: the same per-column sums. */
SH_512 void cols512(float* sums, const uint16_t* x, i64 ldx, const float* uf, i64 N, i64 R, i64 O) {
  cols<v16, u32x16, u16x16, 8>(sums, x, ldx, uf, N, R, O);
}
#endif

/** Rows ahead that the strips prefetch of x. */
constexpr i64 kTnAhead = 32;

/** The strips' output: c[r0 + j, o0 + l] = buf[j * L + l] (+ beta c) for j < rn, l < L. */
inline void tn_store(float* c, i64 ldc, float beta, const float* buf, i64 L, i64 r0, i64 rn, i64 o0) {
  for (i64 j = 0; j < rn; ++j) {
    float* cr = c + (r0 + j) * ldc + o0;
    for (i64 l = 0; l < L; ++l) cr[l] = beta == 0.0f ? buf[j * L + l] : beta * cr[l] + buf[j * L + l];
  }
}

/** c[r, o0 + l] = sum_n u[n, r] x[n, o0 + l] (+ beta c) for l < 8 and every r < R: u [N, R] as floats, x bf16
 *  [N, ldx]. Eight r per pass in named accumulators, each column summed over the rows in order (one chain of fused
 *  multiply-adds from zero), so neither the width (tn_tile16 below) nor the strip a column falls in changes its
 *  bits. */
void tn_strip8(float* c, i64 ldc, float beta, const uint16_t* x, i64 ldx, const float* uf, i64 N, i64 R, i64 o0) {
  for (i64 r0 = 0; r0 < R; r0 += 8) {
    const i64 rn = std::min<i64>(8, R - r0);
    i64 q[8];
    for (int j = 0; j < 8; ++j) q[j] = j < rn ? j : 0;
    const auto splat = [](float f) { return v8{f, f, f, f, f, f, f, f}; };
    v8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
    for (i64 n = 0; n < N; ++n) {
      if (n + kTnAhead < N) __builtin_prefetch(x + (n + kTnAhead) * ldx + o0);
      u16x8 h;
      std::memcpy(&h, x + n * ldx + o0, sizeof h);
      const u32x8 w = __builtin_convertvector(h, u32x8) << 16;
      v8 xv;
      std::memcpy(&xv, &w, sizeof xv);
      const float* up = uf + n * R + r0;
      a0 += splat(up[0]) * xv;
      a1 += splat(up[q[1]]) * xv;
      a2 += splat(up[q[2]]) * xv;
      a3 += splat(up[q[3]]) * xv;
      a4 += splat(up[q[4]]) * xv;
      a5 += splat(up[q[5]]) * xv;
      a6 += splat(up[q[6]]) * xv;
      a7 += splat(up[q[7]]) * xv;
    }
    alignas(32) float buf[64];
    vstore(buf, a0); vstore(buf + 8, a1); vstore(buf + 16, a2); vstore(buf + 24, a3);
    vstore(buf + 32, a4); vstore(buf + 40, a5); vstore(buf + 48, a6); vstore(buf + 56, a7);
    tn_store(c, ldc, beta, buf, 8, r0, rn, o0);
  }
}

#ifdef SH_LOWP_512
/** tn_strip8 on S strips of 16 columns [o0, o0 + 16 S) and ranks [r0, r0 + rn), rn <= RG: S x RG accumulators in
 *  registers, each column's chain the same as tn_strip8's. */
template <int S, int RG>
SH_512_INLINE void tn_tile16(float* c, i64 ldc, float beta, const uint16_t* x, i64 ldx, const float* uf, i64 N, i64 R,
                             i64 o0, i64 r0, i64 rn) {
  i64 q[RG];
  for (int j = 0; j < RG; ++j) q[j] = j < rn ? j : 0;
  __m512 acc[S][RG];
#pragma GCC unroll 2
  for (int t = 0; t < S; ++t)
#pragma GCC unroll 16
    for (int j = 0; j < RG; ++j) acc[t][j] = _mm512_setzero_ps();
  for (i64 n = 0; n < N; ++n) {
    // the rows are ldx apart: a hardware prefetcher stops at each 4 KB page, so the strip's rows kTnAhead ahead are
    // asked for here (8 x 576 x 1,024 with the caches flushed before each call: 222 -> 98-103 us on one thread)
    if (n + kTnAhead < N) _mm_prefetch(reinterpret_cast<const char*>(x + (n + kTnAhead) * ldx + o0), _MM_HINT_T0);
    if (S == 2 && n + kTnAhead < N)
      _mm_prefetch(reinterpret_cast<const char*>(x + (n + kTnAhead) * ldx + o0 + 31), _MM_HINT_T0);
    __m512 xv[S];
#pragma GCC unroll 2
    for (int t = 0; t < S; ++t) xv[t] = widen_bf16x16(x + n * ldx + o0 + 16 * t);
    const float* up = uf + n * R + r0;
#pragma GCC unroll 16
    for (int j = 0; j < RG; ++j) {
      const __m512 u = _mm512_set1_ps(up[q[j]]);
#pragma GCC unroll 2
      for (int t = 0; t < S; ++t) acc[t][j] = _mm512_fmadd_ps(u, xv[t], acc[t][j]);
    }
  }
  alignas(64) float buf[RG * 16];
  for (int t = 0; t < S; ++t) {
    for (int j = 0; j < RG; ++j) _mm512_store_ps(buf + 16 * j, acc[t][j]);
    tn_store(c, ldc, beta, buf, 16, r0, rn, o0 + 16 * t);
  }
}

/** Task `task` of gemm_bf16_short_tn on 16 lanes: column block task / groups (32 columns when S is 2, else 16; 16 for
 *  the last block when O holds an odd number of strips), ranks [8 g, 8 g + 8) for g = task % groups. */
SH_512 void tn_task16(float* c, i64 ldc, float beta, const uint16_t* x, i64 ldx, const float* uf, i64 N, i64 R, i64 O,
                      int S, i64 groups, i64 task) {
  const i64 blk = task / groups, r0 = task % groups * 8, rn = std::min<i64>(8, R - r0), o0 = blk * 16 * S;
  if (S == 2 && o0 + 32 <= O) tn_tile16<2, 8>(c, ldc, beta, x, ldx, uf, N, R, o0, r0, rn);
  else tn_tile16<1, 8>(c, ldc, beta, x, ldx, uf, N, R, o0, r0, rn);
}
#endif

/** c [R, O] = u^T x (+ beta c) for a short u (a LoRA factor's gradient du^T x: R the rank, N the tokens): u16 bf16
 *  [N, ldu], x bf16 [N, ldx]. The columns go out in blocks of 16 or 32 (8 without AVX-512) over the threads, each
 *  column summed over all N rows by one thread, so the thread count changes no bits and no partial sums are added
 *  afterwards. oneDNN's calls in blocks of 96 columns gave 576 columns six blocks, work for six threads; strips of
 *  16 give 36. 8 x 576 x 1,024 on one / two threads, best of 200: 56-58 / 34-36 us (the blocks of 96: 68-72 /
 *  38-42); with the caches flushed before each call 98-103 / 63-68 (106-110 / 59-63); in a training step
 *  (SmolLM2-135M shape, two threads) 115 -> 91-104 us a call. */
void gemm_bf16_short_tn(float* c, i64 ldc, float beta, const uint16_t* u16, i64 ldu, const uint16_t* x, i64 ldx,
                        i64 N, i64 R, i64 O) {
  static thread_local std::vector<float> ubuf;
  if (static_cast<i64>(ubuf.size()) < N * R) ubuf.resize(static_cast<size_t>(N * R));
  float* uf = ubuf.data();
  const bool wide = lowp_512();
  const int team = team_size(N * O * R / 8);
  const i64 L = wide ? 16 : 8, strips = O / L;
  // two strips per task while that leaves every thread three or more tasks
  const i64 groups = (R + 7) / 8;
  const int S = wide && strips / 2 * groups >= 3 * team ? 2 : 1;
  const i64 tasks = wide ? (strips + S - 1) / S * groups : strips;  // tn_strip8 runs every rank group itself
  // past the 16-lane strips, 8 columns more through tn_strip8 (the same sums)
  const i64 mid = wide && O - strips * L >= 8 ? 1 : 0;
#pragma omp parallel num_threads(team)
  {
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n)
      for (i64 r = 0; r < R; ++r) uf[n * R + r] = bf16_widen(u16[n * ldu + r]);
#pragma omp for schedule(static)
    for (i64 t = 0; t < tasks + mid; ++t) {
      if (t == tasks) {
        tn_strip8(c, ldc, beta, x, ldx, uf, N, R, strips * L);
        continue;
      }
#ifdef SH_LOWP_512
      if (wide) {
        tn_task16(c, ldc, beta, x, ldx, uf, N, R, O, S, groups, t);
        continue;
      }
#endif
      tn_strip8(c, ldc, beta, x, ldx, uf, N, R, t * L);
    }
  }
  // the columns past the last strip, each summed over the rows in order as the strips do
  for (i64 o = strips * L + 8 * mid; o < O; ++o)
    for (i64 r = 0; r < R; ++r) {
      float v = 0.0f;
      for (i64 n = 0; n < N; ++n) v += uf[n * R + r] * bf16_widen(x[n * ldx + o]);
      float& out = c[r * ldc + o];
      out = beta == 0.0f ? v : beta * out + v;
    }
}

/** [0, n) in one contiguous range per thread, each a whole number of `grain` elements: fn(lo, hi) on each. Threaded
 *  when `work` (elements touched) is large. */
template <typename Fn>
void split_span(i64 n, i64 grain, i64 work, Fn fn) {
  const int team = team_size(work);
  if (team <= 1) {
    fn(0, n);
    return;
  }
#pragma omp parallel num_threads(team)
  {
    const i64 t = team_threads(), per = ((n + t - 1) / t + grain - 1) / grain * grain;  // covers n
    const i64 lo = std::min<i64>(n, per * thread_id()), hi = std::min<i64>(n, lo + per);
    if (lo < hi) fn(lo, hi);
  }
}

/** Rows per block of dB's partial sums: fixed (not the thread count's share), so the sums do not depend on how many
 *  threads ran them. A block's share of g16 is still in its thread's cache when its columns are summed. */
constexpr i64 kGradRows = 64;

void linear_grad_exact(uint16_t* g16, float* dB, const float* dy, const uint16_t* u16, const float* B, float s, i64 N,
                       i64 O, i64 R) {
  const i64 ld = O + R;
  const std::vector<float> bt = rounded_bt(B, O, R);  // [R, O]
  [[maybe_unused]] const bool wide = lowp_512();
  const i64 blocks = (N + kGradRows - 1) / kGradRows;
  // dB's column sums per block of rows (part_at's layout, O rounded up to 16), each summed by the thread that rounded
  // the block's rows
  const i64 span = (O + 15) / 16 * 16 * R;
  static thread_local std::vector<float> parts;
  if (dB != nullptr && static_cast<i64>(parts.size()) < blocks * span) parts.resize(static_cast<size_t>(blocks * span));
  float* pp = dB != nullptr ? parts.data() : nullptr;
#pragma omp parallel num_threads(team_size(N * ld * 2 + (dB != nullptr ? N * O * R / 8 : 0)))
  {
    std::vector<float> d(static_cast<size_t>(O)), uf(static_cast<size_t>(kGradRows * R));
#ifdef SH_LOWP_512
    // block_grad512's sums between spans, where r(B) is larger than L1 likes
    const bool spans = wide && R * O > kOutWhole;
    std::vector<float> acc(spans ? static_cast<size_t>(kGradRows * ((R + 7) / 8 * 8) * 16) : 0);
#endif
#pragma omp for schedule(static)
    for (i64 b = 0; b < blocks; ++b) {
      const i64 n0 = b * kGradRows, n1 = std::min(N, n0 + kGradRows);
      i64 nr = n0;  // rows left to round and sum one at a time
#ifdef SH_LOWP_512
      if (spans) {
        block_grad512(g16, ld, d.data(), dy, bt.data(), n0, n1, O, R, s, acc.data());
        nr = n1;
      }
#endif
      for (i64 n = nr; n < n1; ++n) {
#ifdef SH_LOWP_512
        if (wide) {
          row_grad512(g16 + n * ld, d.data(), dy + n * O, bt.data(), O, R, s);
          continue;
        }
#endif
        round_row8(g16 + n * ld, d.data(), dy + n * O, O);
        row_du8(g16 + n * ld, d.data(), bt.data(), O, R, s);
      }
      if (pp == nullptr) continue;
      for (i64 i = 0; i < (n1 - n0) * R; ++i) uf[static_cast<size_t>(i)] = bf16_widen(u16[n0 * R + i]);
#ifdef SH_LOWP_512
      if (wide) {
        cols512(pp + b * span, g16 + n0 * ld, ld, uf.data(), n1 - n0, R, O);
        continue;
      }
#endif
      cols8(pp + b * span, g16 + n0 * ld, ld, uf.data(), n1 - n0, R, O);
    }
  }
  if (pp == nullptr) return;
  // dB[o, r] += r(s (the blocks' sums added in block order)): the sums gathered into the first block's, 16 at a time
  // (in a local array: summed in place, GCC kept them scalar, 70 us a call at O 576)
  SH_PARALLEL_FOR(span * blocks)
  for (i64 g = 0; g < span; g += 16) {
    float acc[16];
    for (int l = 0; l < 16; ++l) acc[l] = pp[g + l];
    for (i64 b = 1; b < blocks; ++b)
      for (int l = 0; l < 16; ++l) acc[l] += pp[b * span + g + l];
    for (int l = 0; l < 16; ++l) pp[g + l] = acc[l];
  }
  for (i64 o = 0; o < O; ++o)
    for (i64 r = 0; r < R; ++r) dB[o * R + r] += bf16_snap(s * pp[part_at(o, r, R)]);
}

}  // namespace

void bf16_linear_grad(uint16_t* g16, float* dB, const float* dy, const uint16_t* u16, const float* B, float s, i64 N,
                      i64 O, i64 R) {
  const i64 ld = O + R;
  if (R == 0) {
    SH_PARALLEL_FOR(N * O)
    for (i64 n = 0; n < N; ++n)
      for (i64 o = 0; o < O; ++o) g16[n * ld + o] = bf16_round(dy[n * O + o]);
    return;
  }
  if (exact_scale_of(s)) {
    linear_grad_exact(g16, dB, dy, u16, B, s, N, O, R);
    return;
  }
  // one elementwise pass writes r(dy) into g16 and dv = r(r(dy) s) [N, O]; then the two rank-R products are
  // GEMMs on the BLAS: du [N, R] = dv r(B) and dB^T [R, O] = u^T dv
  static thread_local std::vector<float> dvbuf, ubuf, dub, dbt;
  if (static_cast<i64>(dvbuf.size()) < N * O) dvbuf.resize(static_cast<size_t>(N * O));
  if (static_cast<i64>(ubuf.size()) < N * R) ubuf.resize(static_cast<size_t>(N * R));
  if (static_cast<i64>(dub.size()) < N * R) dub.resize(static_cast<size_t>(N * R));
  float* dv = dvbuf.data();
  float* uf = ubuf.data();
  float* du = dub.data();
  const std::vector<float> bt = rounded_bt(B, O, R);  // [R, O]
  const bool wide = lowp_512();
  SH_PARALLEL_FOR(N * O)
  for (i64 n = 0; n < N; ++n) {
    uint16_t* g = g16 + n * ld;
    const float* dr = dy + n * O;
    float* d = dv + n * O;
    const v8 sv = {s, s, s, s, s, s, s, s};
    i64 o = 0;
#ifdef SH_LOWP_512
    if (wide) o = linear_grad_row512(g, d, dr, O, s);
#endif
    for (; o + 8 <= O; o += 8) {
      const v8 r = snap8(load8(dr + o));
      store_round8(g + o, r);  // r is already a bf16 value: rounding it again only narrows it
      const v8 dd = snap8(r * sv);
      std::memcpy(d + o, &dd, sizeof dd);
    }
    for (; o < O; ++o) {
      const uint16_t h = bf16_round(dr[o]);
      g[o] = h;
      d[o] = bf16_snap(bf16_widen(h) * s);
    }
    for (i64 r = 0; r < R; ++r) uf[n * R + r] = bf16_widen(u16[n * R + r]);
  }
  sgemm_rm(false, true, N, R, O, 1.0f, dv, O, bt.data(), O, 0.0f, du, R);  // du = dv r(B)
  SH_PARALLEL_FOR(N * R)
  for (i64 n = 0; n < N; ++n)
    for (i64 r = 0; r < R; ++r) g16[n * ld + O + r] = bf16_round(du[n * R + r]);
  if (dB == nullptr) return;
  if (static_cast<i64>(dbt.size()) < R * O) dbt.resize(static_cast<size_t>(R * O));
  sgemm_rm(true, false, R, O, N, 1.0f, uf, R, dv, O, 0.0f, dbt.data(), O);  // dB^T = u^T dv
  for (i64 r = 0; r < R; ++r)
    for (i64 o = 0; o < O; ++o) dB[o * R + r] += bf16_snap(dbt[static_cast<size_t>(r * O + o)]);
}

void bf16_accumulate(float* dst, const float* src, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) dst[i] += bf16_snap(src[i]);
}

namespace {

// The SwiGLU loops, compiled twice: as they are (8 lanes under the build's AVX2) and inside 16-lane functions on
// AVX-512 CPUs. Each lane runs the same operations either way (the same bits; lowp-paths fixture).
__attribute__((always_inline)) inline void swiglu_span(uint16_t* m16, const uint16_t* g16, const uint16_t* u16, i64 lo,
                                                       i64 hi) {
  for (i64 i = lo; i < hi; ++i) {
    const float g = bf16_widen(g16[i]);
    const float act = bf16_snap(g * sigmoid_fast(g));
    m16[i] = bf16_round(act * bf16_widen(u16[i]));
  }
}

// Acc: add into dg and du (gradients already there); else write them (fresh buffers: no zero-fill first). The
// adds are explicit fused multiply-adds: left to contraction, the 16-lane build's remainder loop and the 8-lane
// body contracted differently (one ulp apart).
template <bool Acc>
__attribute__((always_inline)) inline void swiglu_back_span(float* dg, float* du, const float* dm, const uint16_t* g16,
                                                            const uint16_t* u16, i64 lo, i64 hi) {
  for (i64 i = lo; i < hi; ++i) {
    const float g = bf16_widen(g16[i]);
    const float sg = sigmoid_fast(g);
    const float d = dm[i];
    const float du_dg = d * bf16_widen(u16[i]), dsilu = sg * (1.0f + g * (1.0f - sg)), act = bf16_snap(g * sg);
    if (Acc) {
      dg[i] = std::fma(du_dg, dsilu, dg[i]);
      du[i] = std::fma(d, act, du[i]);
    } else {
      dg[i] = du_dg * dsilu;
      du[i] = d * act;
    }
  }
}

#ifdef SH_LOWP_512
SH_512_WIDE void swiglu_span512(uint16_t* m16, const uint16_t* g16, const uint16_t* u16, i64 lo, i64 hi) {
  swiglu_span(m16, g16, u16, lo, hi);
}
template <bool Acc>
SH_512_WIDE void swiglu_back_span512(float* dg, float* du, const float* dm, const uint16_t* g16, const uint16_t* u16,
                                     i64 lo, i64 hi) {
  swiglu_back_span<Acc>(dg, du, dm, g16, u16, lo, hi);
}
#endif

}  // namespace

void swiglu_bf16(uint16_t* m16, const uint16_t* g16, const uint16_t* u16, i64 n) {
#ifdef SH_LOWP_512
  if (lowp_512()) {
    split_span(n, 64, n, [&](i64 lo, i64 hi) { swiglu_span512(m16, g16, u16, lo, hi); });
    return;
  }
#endif
  split_span(n, 64, n, [&](i64 lo, i64 hi) { swiglu_span(m16, g16, u16, lo, hi); });
}

void swiglu_bf16_backward(float* dg, float* du, const float* dm, const uint16_t* g16, const uint16_t* u16, i64 n,
                          bool accumulate) {
#ifdef SH_LOWP_512
  if (lowp_512()) {
    split_span(n, 64, n, [&](i64 lo, i64 hi) {
      if (accumulate) swiglu_back_span512<true>(dg, du, dm, g16, u16, lo, hi);
      else swiglu_back_span512<false>(dg, du, dm, g16, u16, lo, hi);
    });
    return;
  }
#endif
  split_span(n, 64, n, [&](i64 lo, i64 hi) {
    if (accumulate) swiglu_back_span<true>(dg, du, dm, g16, u16, lo, hi);
    else swiglu_back_span<false>(dg, du, dm, g16, u16, lo, hi);
  });
}

void rmsnorm_bf16(uint16_t* out16, float* rstd, const float* x, const float* w, i64 N, i64 C, double eps) {
#pragma omp parallel num_threads(team_size(N * C))
  {
    std::vector<float> row(static_cast<size_t>(C));
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      rmsnorm_row(row.data(), rstd + n, x + n * C, w, C, eps);
      for (i64 i = 0; i < C; ++i) out16[n * C + i] = bf16_round(row[static_cast<size_t>(i)]);
    }
  }
}

void add_rmsnorm(float* sum, float* out, uint16_t* out16, float* rstd, const float* x, const float* y,
                 const uint16_t* y16, float mult, const float* w, i64 N, i64 C, double eps) {
#pragma omp parallel num_threads(team_size(N * C))
  {
    std::vector<float> row(static_cast<size_t>(out == nullptr ? C : 0));
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      float* sr = sum + n * C;
      const float* xr = x + n * C;
      if (y != nullptr) {
        add_scaled_row(sr, xr, y + n * C, mult, C);
      } else {
        const uint16_t* yr = y16 + n * C;
        if (mult == 1.0f)
          for (i64 i = 0; i < C; ++i) sr[i] = xr[i] + bf16_widen(yr[i]);
        else
          for (i64 i = 0; i < C; ++i) sr[i] = xr[i] + bf16_widen(yr[i]) * mult;
      }
      if (out != nullptr) {
        rmsnorm_row(out + n * C, rstd + n, sr, w, C, eps);
      } else {
        rmsnorm_row(row.data(), rstd + n, sr, w, C, eps);
        for (i64 i = 0; i < C; ++i) out16[n * C + i] = bf16_round(row[static_cast<size_t>(i)]);
      }
    }
  }
}

void rope_bf16(uint16_t* out16, const uint16_t* x16, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H,
               i64 D) {
  const i64 row = H * D;
#pragma omp parallel num_threads(team_size(N * row * 4))
  {
    std::vector<float> buf(static_cast<size_t>(row));
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      for (i64 i = 0; i < row; ++i) buf[static_cast<size_t>(i)] = bf16_widen(x16[n * row + i]);
      rope_token(buf.data(), buf.data(), cos, sin, pos[n], H, D);  // rope's own body: the same float32 numbers
      for (i64 i = 0; i < row; ++i) out16[n * row + i] = bf16_round(buf[static_cast<size_t>(i)]);
    }
  }
}

}  // namespace sh
