#include "vgpu/protocol/op_names.hpp"

#include <gtest/gtest.h>

using vgpu::protocol::from_legacy_command;

TEST(OpNames, LegacyCommandsMapToOps) {
  EXPECT_EQ(from_legacy_command("VECTOR_ADD"), "vector_add");
  EXPECT_EQ(from_legacy_command("MATRIX_MUL"), "gemm");
  EXPECT_EQ(from_legacy_command("spin"), "spin");
  EXPECT_EQ(from_legacy_command("FORMAT_DISK"), std::nullopt);
}
