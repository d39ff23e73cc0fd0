// Counter-based RNG, bit-identical to src/kernels/rng.ts (dropout masks are recomputed from (seed, i)).
#pragma once
#include <cstdint>

namespace sh {

/** murmur3-style finaliser over seed ^ (i * golden ratio), all uint32 arithmetic (wraps like Math.imul). */
inline uint32_t hash32(uint32_t seed, uint32_t i) {
  uint32_t h = seed ^ (i * 0x9e3779b9u);
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h = (h ^ (h >> 13)) * 0xc2b2ae35u;
  h = h ^ (h >> 16);
  return h;
}

/** uniform in [0, 1) with 24 bits; exact in double and in float32 */
inline double uniform(uint32_t seed, uint32_t i) { return static_cast<double>(hash32(seed, i) >> 8) / 16777216.0; }

}  // namespace sh
