#include "refusal_log.hpp"

#include <vector>

namespace vgpu::core {
namespace {

// Lets sdk::LogLimiter (which speaks sdk::Logger) write lines that carry fields.
class FieldLogger final : public sdk::Logger {
 public:
  explicit FieldLogger(std::vector<LogField> fields) : fields_(std::move(fields)) {}
  void log(sdk::LogLevel, std::string_view message) override {
    log_event(spdlog::level::warn, "", message, fields_);
  }

 private:
  std::vector<LogField> fields_;
};

}  // namespace

void RefusalLog::job_refused(std::uint32_t vm_id, const std::string& pool, sdk::Status reason,
                             const std::string& why) {
  const std::string vm = std::to_string(vm_id);
  const std::string status = sdk::to_string(reason);
  FieldLogger log({{"event", "job_refused"}, {"vm_id", vm}, {"pool", pool}, {"reason", status}});
  jobs_.warn(log, "job of vm " + vm + " refused (" + status + "): " + why);
}

void RefusalLog::hello_refused(const std::string& transport, const std::string& peer,
                               const std::string& why) {
  FieldLogger log({{"event", "hello_refused"}, {"transport", transport}, {"peer", peer}});
  hellos_.warn(log, transport + " " + peer + ": HELLO refused: " + why);
}

}  // namespace vgpu::core
