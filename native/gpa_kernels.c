/*
 * Fused kernels for the training step on tfjs-wasm, called through Deno's FFI on pointers into the wasm heap
 * (lib/native.ts builds, loads and registers them).
 *
 * Why: tfjs-wasm runs LayerNorm, GELU and AdamW as chains of elementwise and reduction kernels (Mean, Sub,
 * Square, Mul, Add, Sigmoid, ...), each a full pass over memory plus a kernel dispatch; together they cost more
 * than half as much as the step's matrix products. Here each is one pass (two for LayerNorm's backward).
 *
 * Numerics follow the unfused ops in lib/ops.ts and lib/train/optim.ts operation by operation, in float32,
 * built with -ffp-contract=off so that no multiply-add is fused (wasm SIMD has no FMA either): elementwise
 * results match tfjs's to the rounding of exp (a Cephes-style polynomial here, XNNPACK's there) and of the
 * reductions' summation order. Reductions over a row use `omp simd` (lanes, then a tree), which is the only
 * reassociation allowed; column sums over rows accumulate in double.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define API __attribute__((visibility("default")))

/* Version of this file's ABI: lib/native.ts refuses a library whose number differs. */
API int32_t gpa_kernels_abi(void) { return 1; }

/* Sizes arrive as int32 (tfjs-wasm's heap is at most 4 GiB: under 2^30 floats); indices are computed in 64 bits. */

/*
 * e^x in float32 (relative error ≈ 2 ulp), branch-free so that loops calling it vectorise: glibc's expf does
 * not vectorise without -ffast-math, and scalar calls would make GELU slower than tfjs's own Sigmoid kernel.
 * Inputs are clamped to [-87, 88]: the results there (≈ 1.6e-38, 1.7e38) keep 1/(1 + e^x) at its limits.
 */
static inline float exp_f32(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  /* n = round(x / ln 2) by the 1.5·2^23 trick (no rounding-mode call, vectorises). */
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  /* r = x − n ln 2 in two steps (Cody–Waite), |r| ≤ ln 2 / 2. */
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  union {
    int32_t i;
    float f;
  } scale;
  scale.i = ((int32_t)n + 127) << 23;
  return p * scale.f;
}

static const float GELU_2C = 1.5957691216057308f; /* 2·sqrt(2/π) */
static const float GELU_A = 0.044715f;
static const float GELU_3A = 0.134145f; /* 3a, rounded as tfjs rounds the JS constant 3 * 0.044715 */

/* GELU (tanh form) as x·σ(z), z = 2c·x·(1 + a x²): y[i] for i < n. */
API void gpa_gelu_fwd(const float *restrict x, float *restrict y, int32_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float xi = x[i];
    float z = (xi * (xi * xi * GELU_A + 1.0f)) * GELU_2C;
    float s = 1.0f / (1.0f + exp_f32(-z));
    y[i] = xi * s;
  }
}

/* dx = dy · (σ + x·σ(1 − σ)·z'), z' = 2c(1 + 3a x²), σ recomputed from x (cheaper than saving it). */
API void gpa_gelu_bwd(const float *restrict dy, const float *restrict x, float *restrict dx, int32_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float xi = x[i];
    float x2 = xi * xi;
    float z = (xi * (x2 * GELU_A + 1.0f)) * GELU_2C;
    float s = 1.0f / (1.0f + exp_f32(-z));
    float dz = (x2 * GELU_3A + 1.0f) * GELU_2C;
    float g = s + (xi * (s * (1.0f - s))) * dz;
    dx[i] = dy[i] * g;
  }
}

/*
 * LayerNorm over the last axis of x [rows, d]: y = (x − μ)·rstd·γ + β with rstd = 1/sqrt(var + eps) (biased
 * variance, two passes as tfjs's moments). Also writes μ and rstd per row, for the backward pass.
 */
API void gpa_layernorm_fwd(const float *restrict x, const float *restrict gamma, const float *restrict beta,
                           float *restrict y, float *restrict mean_out, float *restrict rstd_out, int32_t rows,
                           int32_t d, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < d; j++) sum += xr[j];
    float mean = sum / (float)d;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t j = 0; j < d; j++) {
      float c = xr[j] - mean;
      sq += c * c;
    }
    float rstd = 1.0f / sqrtf(sq / (float)d + eps);
#pragma omp simd
    for (int64_t j = 0; j < d; j++) yr[j] = ((xr[j] - mean) * rstd) * gamma[j] + beta[j];
    mean_out[r] = mean;
    rstd_out[r] = rstd;
  }
}

/*
 * LayerNorm's backward from the saved x, μ, rstd: x̂ = (x − μ)·rstd, g = dy·γ,
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dγ = Σ_rows dy·x̂, dβ = Σ_rows dy (accumulated in double: a column
 * sum runs over thousands of rows). Returns 0, or −1 when the scratch of 2·d doubles cannot be allocated.
 */
API int32_t gpa_layernorm_bwd(const float *restrict dy, const float *restrict x, const float *restrict gamma,
                              const float *restrict mean_in, const float *restrict rstd_in, float *restrict dx,
                              float *restrict dgamma, float *restrict dbeta, int32_t rows, int32_t d) {
  double *acc = calloc((size_t)(2 * d), sizeof(double));
  if (!acc) return -1;
  double *ag = acc, *ab = acc + d;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    float *dxr = dx + r * d;
    const float mean = mean_in[r], rstd = rstd_in[r];
    float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mean) * rstd;
      float g = dyr[j] * gamma[j];
      sg += g;
      sgx += g * xh;
    }
    const float mg = sg / (float)d, mgx = sgx / (float)d;
#pragma omp simd
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mean) * rstd;
      float g = dyr[j] * gamma[j];
      dxr[j] = rstd * ((g - mg) - xh * mgx);
      ag[j] += (double)(dyr[j] * xh);
      ab[j] += (double)dyr[j];
    }
  }
  for (int64_t j = 0; j < d; j++) {
    dgamma[j] = (float)ag[j];
    dbeta[j] = (float)ab[j];
  }
  free(acc);
  return 0;
}

/*
 * One AdamW step on n elements, as lib/train/optim.ts writes it op by op (PyTorch's order: decay, then Adam):
 * g' = g·clip; m' = β1·m + (1 − β1)·g'; v' = β2·v + (1 − β2)·g'²; p' = p·decay − (m' / (sqrt(v' / bc2) + eps))·step.
 * `decay` = 1 − lr·wd (1: no decay), `step` = lr / bc1. Every constant arrives rounded to float32 by the caller,
 * as tfjs rounds its scalars.
 */
API void gpa_adamw(const float *restrict p, const float *restrict g, const float *restrict m,
                   const float *restrict v, float *restrict p_out, float *restrict m_out, float *restrict v_out,
                   int32_t n, float clip, float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                   float bc2, float eps, float decay, float step, int32_t has_clip, int32_t has_decay) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float gi = has_clip ? g[i] * clip : g[i];
    float m1 = m[i] * beta1 + gi * one_minus_beta1;
    float v1 = v[i] * beta2 + (gi * gi) * one_minus_beta2;
    float denom = sqrtf(v1 / bc2) + eps;
    float pd = has_decay ? p[i] * decay : p[i];
    p_out[i] = pd - (m1 / denom) * step;
    m_out[i] = m1;
    v_out[i] = v1;
  }
}

/* Softmax's backward over the last axis of [rows, d]: dx = y·(dy − Σ_j dy_j·y_j). */
API void gpa_softmax_bwd(const float *restrict dy, const float *restrict y, float *restrict dx, int32_t rows,
                         int32_t d) {
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * d, *yr = y + r * d;
    float *dxr = dx + r * d;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < d; j++) s += dyr[j] * yr[j];
#pragma omp simd
    for (int64_t j = 0; j < d; j++) dxr[j] = dyr[j] * yr[j] - s * yr[j];
  }
}
