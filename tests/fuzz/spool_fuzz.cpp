// Fuzz target: the file transport's spool files a guest writes (*.req) and the response format
// (*.res, which the guest library reads), plus the completeness check made before a claim.
#include "fuzz_input.hpp"
#include "vgpu/protocol/spool.hpp"

using namespace vgpu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > spool::kMaxRequestFileBytes) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)spool::request_complete(text);
  try {
    const auto r = spool::decode_request(text);
    fuzz::require(r.input_files.size() <= spool::kMaxInputs);
    for (const auto& f : r.input_files) fuzz::require(spool::valid_name(f));
    // Encoding normalises (one line per field); after that, decoding and encoding again is a
    // fixed point.
    const auto once = spool::encode_request(r);
    fuzz::require(spool::encode_request(spool::decode_request(once)) == once);
  } catch (const spool::FormatError&) {
  }
  try {
    (void)spool::decode_response(text);
  } catch (const spool::FormatError&) {
  }
  return 0;
}
