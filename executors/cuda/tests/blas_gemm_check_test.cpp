// The checks a guest's matrix product passes before the host's cuBLAS runs it.
#include <gtest/gtest.h>

#include <cstdint>

#include "blas_gemm_check.hpp"

using vgpu::cuda_calls::BlasGemm;
using vgpu::executors::cuda::remote::gemm_extents;

namespace {

BlasGemm sgemm(int m, int n, int k) {
  BlasGemm g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = m;
  g.ldb = k;
  g.ldc = m;
  g.compute = 68;  // CUBLAS_COMPUTE_32F; the types are CUDA_R_32F (0)
  return g;
}

TEST(BlasGemmCheck, ExtentsCoverEachMatrixAsStored) {
  std::string why;
  auto e = gemm_extents(sgemm(4, 3, 2), why);
  ASSERT_EQ(why, "");
  EXPECT_EQ(e.a_bytes, 4u * 2 * 4);  // A is m x k
  EXPECT_EQ(e.b_bytes, 2u * 3 * 4);  // B is k x n
  EXPECT_EQ(e.c_bytes, 4u * 3 * 4);
  // Transposed, A is stored k x m: with lda = k its extent is (m - 1) * k + k elements.
  auto t = sgemm(4, 3, 2);
  t.trans_a = 1;
  t.lda = 2;
  e = gemm_extents(t, why);
  ASSERT_EQ(why, "");
  EXPECT_EQ(e.a_bytes, (3u * 2 + 2) * 4);
  // A leading dimension past the rows counts, except after the last column.
  auto wide = sgemm(4, 3, 2);
  wide.ldc = 10;
  EXPECT_EQ(gemm_extents(wide, why).c_bytes, (10u * 2 + 4) * 4);
}

TEST(BlasGemmCheck, ABatchSpansItsStrides) {
  auto g = sgemm(8, 8, 8);
  g.batch = 3;
  g.stride_a = g.stride_b = g.stride_c = 100;
  g.type_a = g.type_b = 14;  // bf16 inputs, fp32 output
  std::string why;
  const auto e = gemm_extents(g, why);
  ASSERT_EQ(why, "");
  EXPECT_EQ(e.a_bytes, (200u + 64) * 2);
  EXPECT_EQ(e.c_bytes, (200u + 64) * 4);
}

TEST(BlasGemmCheck, WhatCannotBeRunIsNamed) {
  std::string why;
  auto g = sgemm(4, 4, 4);
  g.lda = 3;
  gemm_extents(g, why);
  EXPECT_EQ(why, "lda smaller than A's rows");

  g = sgemm(-1, 4, 4);
  why.clear();
  gemm_extents(g, why);
  EXPECT_EQ(why, "negative matrix size");

  g = sgemm(4, 4, 4);
  g.type_c = 99;
  why.clear();
  gemm_extents(g, why);
  EXPECT_EQ(why, "a matrix type this path does not run");

  g = sgemm(4, 4, 4);
  g.compute = 78;  // the emulated modes are not on the list
  why.clear();
  gemm_extents(g, why);
  EXPECT_EQ(why, "unknown compute type");

  g = sgemm(4, 4, 4);
  g.batch = 2;
  g.stride_c = 8;  // the second C would overwrite half of the first
  why.clear();
  gemm_extents(g, why);
  EXPECT_EQ(why, "C's matrices overlap (stride_c too small)");
}

TEST(BlasGemmCheck, HugeSizesOverflowInsteadOfWrapping) {
  auto g = sgemm(1 << 30, 1 << 30, 1 << 30);
  g.batch = 1 << 30;
  g.stride_a = g.stride_b = INT64_MAX;
  g.stride_c = INT64_MAX;
  std::string why;
  gemm_extents(g, why);
  EXPECT_EQ(why, "matrix extent overflows");
}

TEST(BlasGemmCheck, AnEmptyProductTouchesNothing) {
  std::string why;
  auto g = sgemm(0, 5, 5);
  g.lda = g.ldc = 1;  // cuBLAS asks for at least 1 even with no rows
  const auto e = gemm_extents(g, why);
  ASSERT_EQ(why, "");
  EXPECT_EQ(e.a_bytes, 0u);
  EXPECT_EQ(e.c_bytes, 0u);
  EXPECT_EQ(e.b_bytes, 5u * 5 * 4);
}

}  // namespace
