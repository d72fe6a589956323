// Fuzz target: the file transport's spool files a guest writes (*.req) and the response format
// (*.res, which the guest library reads), plus the completeness check made before a claim.
#include "fuzz_input.hpp"
#include "vgpu/sdk/spool.hpp"

using namespace vgpu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > sdk::spool::kMaxRequestFileBytes) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sdk::spool::request_complete(text);
  try {
    const auto r = sdk::spool::decode_request(text);
    fuzz::require(r.input_files.size() <= sdk::spool::kMaxInputs);
    for (const auto& f : r.input_files) fuzz::require(sdk::spool::valid_name(f));
    // Encoding normalises (one line per field); after that, decoding and encoding again is a
    // fixed point.
    const auto once = sdk::spool::encode_request(r);
    fuzz::require(sdk::spool::encode_request(sdk::spool::decode_request(once)) == once);
  } catch (const sdk::spool::FormatError&) {
  }
  try {
    (void)sdk::spool::decode_response(text);
  } catch (const sdk::spool::FormatError&) {
  }
  return 0;
}
