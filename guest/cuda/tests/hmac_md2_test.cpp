// MD2 against RFC 1319's test suite, and HMAC's construction over it.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "hmac_md2.hpp"

namespace vgpu::guest::cuda {
namespace {

std::string hex(const std::array<std::uint8_t, 16>& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : d) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::string md2_of(const std::string& text) {
  return hex(md2({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
}

TEST(Md2, Rfc1319TestSuite) {
  EXPECT_EQ(md2_of(""), "8350e5a3e24c153df2275c9f80692773");
  EXPECT_EQ(md2_of("a"), "32ec01ec4a6dac72c0ab96fb34c0b5d1");
  EXPECT_EQ(md2_of("abc"), "da853b0d3f88d99b30283a69e6ded6bb");
  EXPECT_EQ(md2_of("message digest"), "ab4f496bfb2a530b219ff33031fe06b0");
  EXPECT_EQ(md2_of("abcdefghijklmnopqrstuvwxyz"), "4e8ddff3650292ab5a4108c3aa47940b");
  EXPECT_EQ(md2_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "da33def2a42df13975352846c30338cd");
  EXPECT_EQ(md2_of("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                   "7890"),
            "d5976f79d83d3a0dc9806c3c66f3efd8");
}

TEST(Md2, FeedingInPiecesGivesTheSameDigest) {
  const std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  Md2 h;
  for (char c : text) h.update(&c, 1);
  EXPECT_EQ(hex(h.finish()), md2_of(text));
}

TEST(HmacMd2, IsMd2OfOuterPadAndInnerDigest) {
  std::array<std::uint8_t, 16> key{};
  for (std::size_t i = 0; i < 16; ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const std::string message = "challenge";
  std::string inner_input, outer_input;
  for (auto k : key) inner_input += static_cast<char>(k ^ 0x36);
  inner_input += message;
  const auto inner =
      md2({reinterpret_cast<const std::uint8_t*>(inner_input.data()), inner_input.size()});
  for (auto k : key) outer_input += static_cast<char>(k ^ 0x5c);
  outer_input.append(reinterpret_cast<const char*>(inner.data()), 16);
  const auto expected =
      md2({reinterpret_cast<const std::uint8_t*>(outer_input.data()), outer_input.size()});
  EXPECT_EQ(hmac_md2(key, {reinterpret_cast<const std::uint8_t*>(message.data()), message.size()}),
            expected);
}

}  // namespace
}  // namespace vgpu::guest::cuda
