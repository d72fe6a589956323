#include "vgpu/sdk/ops.hpp"

#include <gtest/gtest.h>

using namespace vgpu::sdk;

TEST(Ops, GeneratorIsDeterministicAndInRange) {
  auto a = ops::generate(5, 0, 1000);
  auto b = ops::generate(5, 0, 1000);
  auto c = ops::generate(6, 0, 1000);
  auto d = ops::generate(5, 1, 1000);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  for (float v : a) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LT(v, 1.0f);
  }
}

TEST(Ops, OutputBytesAreKnownBeforeTheJobRuns) {
  Job j;
  j.op = "vector_add";
  j.params = {{"n", "1000"}};
  EXPECT_EQ(ops::output_bytes(j), 4000u);
  j.op = "reduce_sum";
  EXPECT_EQ(ops::output_bytes(j), 4u);
  j.op = "gemm";
  j.params = {{"m", "3"}, {"n", "5"}, {"k", "7"}};
  EXPECT_EQ(ops::output_bytes(j), 60u);
  j.op = "spin";
  EXPECT_EQ(ops::output_bytes(j), 0u);
}

TEST(Ops, ShapeChecksInputs) {
  Job j;
  j.op = "vector_add";
  j.params = {{"n", "100"}};
  EXPECT_EQ(ops::shape_of(j).n, 100u);
  j.inputs = {Buffer(40), Buffer(40)};
  // n=100 beside 10-value buffers was once ignored: a disagreement is now named.
  try {
    ops::shape_of(j);
    ADD_FAILURE() << "n=100 with 10-value buffers was accepted";
  } catch (const ops::OpError& e) {
    EXPECT_NE(std::string(e.what()).find("n=100 but the input buffers hold 10"), std::string::npos)
        << e.what();
  }
  j.params = {{"n", "10"}};
  EXPECT_EQ(ops::shape_of(j).n, 10u) << "an n that agrees is fine";
  j.params = {};
  EXPECT_EQ(ops::shape_of(j).n, 10u) << "without n, sent buffers decide";
  j.inputs = {Buffer(40)};
  EXPECT_THROW(ops::shape_of(j), ops::OpError);
  j.inputs = {Buffer(40), Buffer(44)};
  EXPECT_THROW(ops::shape_of(j), ops::OpError);
  j.inputs = {Buffer(41), Buffer(41)};
  EXPECT_THROW(ops::shape_of(j), ops::OpError);
  j.inputs.clear();
  j.params = {{"n", "12x"}};
  EXPECT_THROW(ops::shape_of(j), ops::OpError);
  j.params = {{"n", "999999999999"}};
  EXPECT_THROW(ops::shape_of(j), ops::OpError);
}

TEST(Ops, GemmShape) {
  Job j;
  j.op = "gemm";
  j.params = {{"m", "3"}, {"n", "4"}, {"k", "5"}};
  auto s = ops::shape_of(j);
  EXPECT_EQ(s.m, 3u);
  EXPECT_EQ(s.n, 4u);
  EXPECT_EQ(s.k, 5u);
  j.inputs = {Buffer(3 * 5 * 4), Buffer(5 * 4 * 4)};
  EXPECT_NO_THROW(ops::shape_of(j));
  j.inputs = {Buffer(3 * 5 * 4), Buffer(5 * 4)};
  EXPECT_THROW(ops::shape_of(j), ops::OpError);
}

TEST(Ops, Bf16Rounding) {
  EXPECT_EQ(ops::round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(ops::round_to_bf16(1.00390625f), 1.0f);  // halfway: ties to even
  EXPECT_NE(ops::round_to_bf16(1.01f), 1.01f);
  EXPECT_NEAR(ops::round_to_bf16(1.01f), 1.01f, 1.0f / 128);
}
