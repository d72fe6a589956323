// The shared-directory protocol's file formats (docs/protocol.md, "File transport"): the
// original one-line request.txt/response.txt pair, and the v2 spool's request (.req) and
// response (.res) files. Shared by the file transport and the guest library, so both read and
// write exactly the same text.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vgpu/protocol/types.hpp"

namespace vgpu::spool {

using protocol::Param;
using protocol::priority_name;
using protocol::Status;

// A request file larger than this is refused unread: requests are small text, data travels in
// payload files.
inline constexpr std::size_t kMaxRequestFileBytes = 64 * 1024;
inline constexpr std::size_t kMaxNameLength = 128;
inline constexpr std::size_t kMaxInputs = 16;
inline constexpr std::string_view kRequestSuffix = ".req";
inline constexpr std::string_view kResponseSuffix = ".res";
inline constexpr std::string_view kEndLine = "end";

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Names a guest may use for requests and payload files: plain names, no paths, no dot files
// (temp files start with a dot), so nothing can point outside the VM's own directory.
inline bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Identity fields a guest may state. They are checked against the config DB, never used.
struct ClaimedIdentity {
  std::optional<std::string> pool;
  std::optional<int> priority;
  std::optional<std::uint32_t> vm_id;
};

struct Request {
  std::string op;
  std::vector<Param> params;
  std::vector<std::string> input_files;  // in requests/, beside the .req file
  std::uint32_t deadline_ms = 0;
  ClaimedIdentity claimed;
};

struct Response {
  Status status = Status::ok;
  std::string message;
  std::uint64_t queued_ns = 0, wall_ns = 0, device_ns = 0, dispatch_sequence = 0;
  std::uint32_t vm_id = 0;
  std::string pool;             // empty when the request's VM could not be resolved
  std::optional<int> priority;  // likewise absent then: never a guess
  std::string vm_name;
  std::vector<std::pair<std::string, std::uint64_t>> outputs;  // file name, size in bytes
};

namespace detail {

inline std::string one_line(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

template <typename T>
T number(std::string_view text, std::string_view what) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw FormatError(std::string(what) + " must be a non-negative integer, got '" +
                      std::string(text) + "'");
  return value;
}

// "0".."2" (the original registers) or "low|medium|high".
inline int priority(std::string_view text) {
  if (text == "0" || text == "low") return 0;
  if (text == "1" || text == "medium") return 1;
  if (text == "2" || text == "high") return 2;
  throw FormatError("priority must be 0, 1, 2, low, medium or high, got '" + std::string(text) +
                    "'");
}

// Splits text into lines of `key=value`, skipping blank lines and # comments; calls
// f(line_number, key, value). Returns whether the last line was the end marker.
template <typename F>
bool for_each_setting(std::string_view text, F&& f) {
  std::size_t line_no = 0;
  bool ended = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (ended) {
      if (line.empty()) continue;
      throw FormatError("line " + std::to_string(line_no) + ": text after the 'end' line");
    }
    if (line.empty() || line.front() == '#') continue;
    if (line == kEndLine) {
      ended = true;
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw FormatError("line " + std::to_string(line_no) + ": expected key=value, got '" +
                        std::string(line.substr(0, 80)) + "'");
    f(line_no, line.substr(0, eq), line.substr(eq + 1));
  }
  return ended;
}

}  // namespace detail

// Whether a request file is complete: its last line is `end` (the writer renames it in whole;
// the marker catches writers that do not).
inline bool request_complete(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const auto nl = text.rfind('\n');
  return (nl == std::string_view::npos ? text : text.substr(nl + 1)) == kEndLine;
}

inline std::string encode_request(const Request& r) {
  std::string out = "op=" + detail::one_line(r.op) + "\n";
  for (const auto& p : r.params)
    out += "param." + detail::one_line(p.key) + "=" + detail::one_line(p.value) + "\n";
  for (const auto& f : r.input_files) out += "input=" + f + "\n";
  if (r.deadline_ms) out += "deadline_ms=" + std::to_string(r.deadline_ms) + "\n";
  if (r.claimed.vm_id) out += "vm_id=" + std::to_string(*r.claimed.vm_id) + "\n";
  if (r.claimed.pool) out += "pool=" + detail::one_line(*r.claimed.pool) + "\n";
  if (r.claimed.priority) out += "priority=" + std::to_string(*r.claimed.priority) + "\n";
  return out + std::string(kEndLine) + "\n";
}

inline Request decode_request(std::string_view text) {
  Request r;
  const bool ended = detail::for_each_setting(
      text, [&](std::size_t line, std::string_view key, std::string_view value) {
        const std::string at = "line " + std::to_string(line) + ": ";
        if (key == "op") {
          r.op = value;
        } else if (key.starts_with("param.") && key.size() > 6) {
          r.params.push_back({std::string(key.substr(6)), std::string(value)});
        } else if (key == "input") {
          if (!valid_name(value))
            throw FormatError(at + "input '" + std::string(value) +
                              "' is not a plain file name in requests/");
          if (r.input_files.size() == kMaxInputs)
            throw FormatError(at + "more than " + std::to_string(kMaxInputs) + " inputs");
          r.input_files.emplace_back(value);
        } else if (key == "deadline_ms") {
          r.deadline_ms = detail::number<std::uint32_t>(value, at + "deadline_ms");
        } else if (key == "vm_id") {
          r.claimed.vm_id = detail::number<std::uint32_t>(value, at + "vm_id");
        } else if (key == "pool") {
          r.claimed.pool = std::string(value);
        } else if (key == "priority") {
          try {
            r.claimed.priority = detail::priority(value);
          } catch (const FormatError& e) {
            throw FormatError(at + e.what());
          }
        } else {
          throw FormatError(at + "unknown key '" + std::string(key) +
                            "' (expected op, param.<name>, input, deadline_ms, vm_id, pool, "
                            "priority)");
        }
      });
  if (!ended) throw FormatError("incomplete request: no 'end' line");
  if (r.op.empty()) throw FormatError("no 'op=' line");
  return r;
}

inline std::string encode_response(const Response& r) {
  std::string out;
  out += "status=" + std::string(to_string(r.status)) + "\n";
  out += "code=" + std::to_string(static_cast<int>(r.status)) + "\n";
  out += "message=" + detail::one_line(r.message) + "\n";
  out += "queued_ns=" + std::to_string(r.queued_ns) + "\n";
  out += "wall_ns=" + std::to_string(r.wall_ns) + "\n";
  out += "device_ns=" + std::to_string(r.device_ns) + "\n";
  out += "dispatch_sequence=" + std::to_string(r.dispatch_sequence) + "\n";
  out += "vm_id=" + std::to_string(r.vm_id) + "\n";
  out += "pool=" + r.pool + "\n";
  if (r.priority) out += "priority=" + std::string(priority_name(*r.priority)) + "\n";
  out += "vm_name=" + detail::one_line(r.vm_name) + "\n";
  for (const auto& [file, size] : r.outputs)
    out += "output=" + file + " " + std::to_string(size) + "\n";
  return out + std::string(kEndLine) + "\n";
}

inline Response decode_response(std::string_view text) {
  Response r;
  const bool ended = detail::for_each_setting(
      text, [&](std::size_t line, std::string_view key, std::string_view value) {
        const std::string at = "line " + std::to_string(line) + ": ";
        if (key == "code") {
          r.status = static_cast<Status>(detail::number<int>(value, at + "code"));
        } else if (key == "message") {
          r.message = value;
        } else if (key == "queued_ns") {
          r.queued_ns = detail::number<std::uint64_t>(value, at + std::string(key));
        } else if (key == "wall_ns") {
          r.wall_ns = detail::number<std::uint64_t>(value, at + std::string(key));
        } else if (key == "device_ns") {
          r.device_ns = detail::number<std::uint64_t>(value, at + std::string(key));
        } else if (key == "dispatch_sequence") {
          r.dispatch_sequence = detail::number<std::uint64_t>(value, at + std::string(key));
        } else if (key == "vm_id") {
          r.vm_id = detail::number<std::uint32_t>(value, at + std::string(key));
        } else if (key == "pool") {
          r.pool = value;
        } else if (key == "priority") {
          r.priority = detail::priority(value);
        } else if (key == "vm_name") {
          r.vm_name = value;
        } else if (key == "output") {
          const auto sp = value.rfind(' ');
          if (sp == std::string_view::npos || !valid_name(value.substr(0, sp)))
            throw FormatError(at + "output must be '<file> <size>'");
          r.outputs.emplace_back(std::string(value.substr(0, sp)),
                                 detail::number<std::uint64_t>(value.substr(sp + 1), at + "size"));
        }
        // `status` repeats `code` for people; other unknown keys are skipped, so responses can
        // grow.
      });
  if (!ended) throw FormatError("incomplete response: no 'end' line");
  return r;
}

// ---- The original protocol: request.txt holds `pool:priority:vm_id:COMMAND` ----------------

struct CompatRequest {
  std::string pool;  // the pool's name or its first letter (the device register holds one byte)
  int priority = 1;
  std::uint32_t vm_id = 0;
  std::string command;        // e.g. VECTOR_ADD
  std::vector<Param> params;  // optional ` key=value` words after the command (an extension)
};

// Whether a request.txt is surely complete: the original client writes one line; a final
// newline proves the line ended. Without one the transport waits until the file is quiet.
inline bool compat_complete(std::string_view text) {
  return !text.empty() && text.back() == '\n';
}

inline CompatRequest decode_compat_request(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  const std::string shown(text.substr(0, 80));
  const auto bad = [&](const std::string& why) {
    return FormatError("request.txt must be pool:priority:vm_id:COMMAND, got '" + shown +
                       "': " + why);
  };
  if (text.find('\n') != std::string_view::npos) throw bad("more than one line");
  std::string_view field[4];
  for (int i = 0; i < 3; ++i) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) throw bad("missing ':'");
    field[i] = text.substr(0, colon);
    text = text.substr(colon + 1);
  }
  field[3] = text;
  CompatRequest r;
  if (field[0].empty()) throw bad("empty pool");
  r.pool = field[0];
  try {
    r.priority = detail::priority(field[1]);
    r.vm_id = detail::number<std::uint32_t>(field[2], "vm_id");
  } catch (const FormatError& e) {
    throw bad(e.what());
  }
  std::string_view rest = field[3];
  const auto sp = rest.find(' ');
  r.command = rest.substr(0, sp);
  if (r.command.empty()) throw bad("empty command");
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  while (!rest.empty()) {
    const auto next = rest.find(' ');
    const auto word = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    if (word.empty()) continue;
    const auto eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw bad("parameter '" + std::string(word) + "' is not key=value");
    r.params.push_back({std::string(word.substr(0, eq)), std::string(word.substr(eq + 1))});
  }
  return r;
}

// Whether a claimed pool agrees with the DB's: the whole name, or its first letter as the
// original pool_id register holds it.
inline bool pool_matches(std::string_view claimed, std::string_view actual) {
  return claimed == actual || (claimed.size() == 1 && !actual.empty() && claimed[0] == actual[0]);
}

}  // namespace vgpu::spool
