#include "spool_client.hpp"

#include <dirent.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "vgpu/protocol/spool.hpp"

namespace vgpu::guest {

namespace fs = std::filesystem;
namespace spool = vgpu::spool;

namespace {

void write_whole(const fs::path& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out)
    throw ClientError("cannot write " + path.string() + " (is the share full or read-only?)");
}

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ClientError("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

SpoolClient::SpoolClient(std::string dir, std::chrono::microseconds poll_interval)
    : dir_(std::move(dir)), poll_interval_(poll_interval) {
  std::random_device random;
  char id[16];
  std::snprintf(id, sizeof id, "%08x", random());
  prefix_ = "c" + std::to_string(::getpid()) + "-" + id;
}

SpoolClient SpoolClient::open(const std::string& dir, std::chrono::microseconds poll_interval) {
  for (auto sub : {"requests", "responses"})
    if (!fs::is_directory(fs::path(dir) / sub))
      throw ClientError("no " + std::string(sub) + "/ under " + dir +
                        ": is the share mounted, and is this VM registered with the mediator?");
  return SpoolClient(dir, poll_interval);
}

std::string SpoolClient::name_of(std::uint64_t tag) const {
  return prefix_ + "-" + std::to_string(tag);
}

std::uint64_t SpoolClient::submit(const std::string& op, const std::vector<protocol::Param>& params,
                                  const std::vector<protocol::Buffer>& inputs,
                                  std::uint32_t deadline_ms) {
  const std::uint64_t tag = next_tag_++;
  const std::string name = name_of(tag);
  const fs::path requests = fs::path(dir_) / "requests";
  spool::Request request;
  request.op = op;
  request.params = params;
  request.deadline_ms = deadline_ms;
  // Payloads first; the .req, renamed in last, is what makes the request visible whole.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    request.input_files.push_back(name + ".in" + std::to_string(i));
    write_whole(requests / request.input_files.back(), inputs[i].data(), inputs[i].size());
  }
  const auto text = spool::encode_request(request);
  const fs::path temp = requests / ("." + name + ".tmp");
  write_whole(temp, text.data(), text.size());
  std::error_code ec;
  fs::rename(temp, requests / (name + std::string(spool::kRequestSuffix)), ec);
  if (ec) throw ClientError("cannot submit " + name + ": " + ec.message());
  outstanding_.insert(tag);
  return tag;
}

RunResult SpoolClient::collect(std::uint64_t tag) {
  const std::string name = name_of(tag);
  const fs::path responses = fs::path(dir_) / "responses";
  const fs::path res_path = responses / (name + std::string(spool::kResponseSuffix));
  spool::Response response;
  try {
    response = spool::decode_response(read_whole(res_path));
  } catch (const spool::FormatError& e) {
    throw ClientError("the mediator wrote a bad " + res_path.string() + ": " + e.what());
  }
  RunResult r;
  r.tag = tag;
  r.status = response.status;
  r.message = response.message;
  r.queued_ns = response.queued_ns;
  r.wall_ns = response.wall_ns;
  r.device_ns = response.device_ns;
  r.dispatch_sequence = response.dispatch_sequence;
  for (const auto& [file, size] : response.outputs) {
    auto bytes = read_whole(responses / file);
    if (bytes.size() != size)
      throw ClientError(file + " holds " + std::to_string(bytes.size()) +
                        " bytes, the response says " + std::to_string(size));
    r.outputs.emplace_back(bytes.begin(), bytes.end());
    fs::remove(responses / file);
  }
  fs::remove(res_path);
  identity_.vm_id = response.vm_id;
  identity_.pool = response.pool;
  if (response.priority) identity_.priority = static_cast<std::uint8_t>(*response.priority);
  identity_.vm_name = response.vm_name;
  outstanding_.erase(tag);
  return r;
}

RunResult SpoolClient::next_result(std::chrono::milliseconds timeout) {
  if (!waiting_.empty()) {
    auto node = waiting_.extract(waiting_.begin());
    return std::move(node.mapped());
  }
  return poll_responses(timeout);
}

RunResult SpoolClient::poll_responses(std::chrono::milliseconds timeout) {
  if (outstanding_.empty()) throw ClientError("no request is in flight");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string responses = dir_ + "/responses";
  for (;;) {
    // One directory listing per round, however many requests are in flight.
    if (DIR* d = ::opendir(responses.c_str())) {
      std::optional<std::uint64_t> found;
      while (auto* e = ::readdir(d)) {
        std::string file = e->d_name;
        if (file.size() <= prefix_.size() + 5 || file.compare(0, prefix_.size() + 1, prefix_ + "-"))
          continue;
        if (!file.ends_with(spool::kResponseSuffix)) continue;
        try {
          const auto tag = std::stoull(file.substr(prefix_.size() + 1));
          if (outstanding_.count(tag)) {
            found = tag;
            break;
          }
        } catch (const std::exception&) {
        }
      }
      ::closedir(d);
      if (found) return collect(*found);
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw ClientError("no response in " + responses + " after " +
                        std::to_string(timeout.count()) + " ms: is the mediator serving " + dir_ +
                        "?");
    std::this_thread::sleep_for(poll_interval_);
  }
}

RunResult SpoolClient::run(const std::string& op, const std::vector<protocol::Param>& params,
                           const std::vector<protocol::Buffer>& inputs) {
  const auto tag = submit(op, params, inputs);
  for (;;) {
    auto r = poll_responses(std::chrono::minutes(10));
    if (r.tag == tag) return r;
    waiting_.emplace(r.tag, std::move(r));
  }
}

}  // namespace vgpu::guest
