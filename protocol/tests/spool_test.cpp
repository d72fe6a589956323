#include "vgpu/protocol/spool.hpp"

#include <gtest/gtest.h>

using namespace vgpu::protocol;
using namespace vgpu::spool;

namespace {

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(SpoolFormat, RequestRoundTrip) {
  Request r;
  r.op = "gemm";
  r.params = {{"n", "3"}, {"precision", "fp32"}};
  r.input_files = {"job-1.in0", "job-1.in1"};
  r.deadline_ms = 250;
  r.claimed.vm_id = 7;
  r.claimed.pool = "B";
  r.claimed.priority = 2;
  const auto text = encode_request(r);
  EXPECT_TRUE(request_complete(text));
  auto back = decode_request(text);
  EXPECT_EQ(back.op, "gemm");
  ASSERT_EQ(back.params.size(), 2u);
  EXPECT_EQ(back.params[1].key, "precision");
  EXPECT_EQ(back.params[1].value, "fp32");
  EXPECT_EQ(back.input_files, r.input_files);
  EXPECT_EQ(back.deadline_ms, 250u);
  EXPECT_EQ(back.claimed.vm_id, 7u);
  EXPECT_EQ(back.claimed.pool, "B");
  EXPECT_EQ(back.claimed.priority, 2);
}

TEST(SpoolFormat, RequestWithoutEndLineIsIncomplete) {
  const std::string text = "op=noop\nparam.n=4\n";
  EXPECT_FALSE(request_complete(text));
  EXPECT_NE(error_of([&] { decode_request(text); }).find("no 'end' line"), std::string::npos);
  EXPECT_TRUE(request_complete(text + "end"));
}

TEST(SpoolFormat, BadRequestsNameTheLine) {
  EXPECT_NE(error_of([] {
              decode_request("op=noop\nbogus=1\nend\n");
            }).find("line 2: unknown key 'bogus'"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_request("op=noop\njunk\nend\n"); }).find("line 2: expected key"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              decode_request("op=noop\ninput=../vm2/x\nend\n");
            }).find("not a plain file name"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_request("op=noop\npriority=urgent\nend\n"); }).find("urgent"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_request("param.n=1\nend\n"); }).find("no 'op=' line"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_request("op=noop\nend\nop=spin\n"); }).find("after the 'end'"),
            std::string::npos);
}

TEST(SpoolFormat, ResponseRoundTrip) {
  Response r;
  r.status = Status::quota_exceeded;
  r.message = "two\nlines";
  r.queued_ns = 5;
  r.wall_ns = 6;
  r.device_ns = 7;
  r.dispatch_sequence = 8;
  r.vm_id = 3;
  r.pool = "A";
  r.priority = 0;
  r.vm_name = "web";
  r.outputs = {{"x.out0", 4096}};
  auto back = decode_response(encode_response(r));
  EXPECT_EQ(back.status, Status::quota_exceeded);
  EXPECT_EQ(back.message, "two lines");
  EXPECT_EQ(back.wall_ns, 6u);
  EXPECT_EQ(back.dispatch_sequence, 8u);
  EXPECT_EQ(back.priority, 0);
  EXPECT_EQ(back.vm_name, "web");
  ASSERT_EQ(back.outputs.size(), 1u);
  EXPECT_EQ(back.outputs[0].first, "x.out0");
  EXPECT_EQ(back.outputs[0].second, 4096u);
}

TEST(SpoolFormat, NamesCannotLeaveTheDirectory) {
  EXPECT_TRUE(valid_name("job-12.req"));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name(".hidden"));
  EXPECT_FALSE(valid_name("a/b"));
  EXPECT_FALSE(valid_name(".."));
  EXPECT_FALSE(valid_name(std::string(kMaxNameLength + 1, 'a')));
}

TEST(CompatFormat, ParsesTheOriginalLine) {
  auto r = decode_compat_request("A:2:3:VECTOR_ADD\n");
  EXPECT_EQ(r.pool, "A");
  EXPECT_EQ(r.priority, 2);
  EXPECT_EQ(r.vm_id, 3u);
  EXPECT_EQ(r.command, "VECTOR_ADD");
  EXPECT_TRUE(r.params.empty());
  auto with_params = decode_compat_request("B:low:12:MATRIX_MUL n=32 seed=4");
  EXPECT_EQ(with_params.priority, 0);
  ASSERT_EQ(with_params.params.size(), 2u);
  EXPECT_EQ(with_params.params[1].value, "4");
}

TEST(CompatFormat, GarbageIsRefusedWithTheReason) {
  EXPECT_NE(error_of([] { decode_compat_request("hello"); }).find("missing ':'"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_compat_request("A:9:1:NOOP"); }).find("priority"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_compat_request("A:1:x:NOOP"); }).find("vm_id"), std::string::npos);
  EXPECT_NE(error_of([] { decode_compat_request("A:1:1:"); }).find("empty command"),
            std::string::npos);
  EXPECT_NE(error_of([] { decode_compat_request("A:1:1:NOOP\nA:1:1:NOOP"); }).find("one line"),
            std::string::npos);
}

TEST(CompatFormat, CompletenessAndPoolLetters) {
  EXPECT_TRUE(compat_complete("A:1:1:NOOP\n"));
  EXPECT_FALSE(compat_complete("A:1:1:NO"));
  EXPECT_TRUE(pool_matches("A", "A"));
  EXPECT_TRUE(pool_matches("g", "gpu-heavy"));
  EXPECT_FALSE(pool_matches("B", "A"));
  EXPECT_FALSE(pool_matches("Ab", "A"));
}

// Found by fuzzing: the claimed pool was written as given, so a pool holding a line break wrote
// a line of its own into the request (and a trailing '\r' was lost on the way back). Every text
// field now goes through one_line.
TEST(SpoolFormat, AClaimedPoolCannotAddALine) {
  Request r;
  r.op = "noop";
  r.claimed.pool = "A\nvm_id=7\r";
  const auto text = encode_request(r);
  const auto back = decode_request(text);
  EXPECT_FALSE(back.claimed.vm_id.has_value()) << text;
  EXPECT_EQ(back.claimed.pool, "A vm_id=7 ");
  EXPECT_EQ(encode_request(back), text);
}
