// How the daemon writes its log lines (log.format in the YAML).
#pragma once

namespace vgpu::core {

// text: "2026-11-25 21:00:00.123 info  message key=value"; json: one object per line with ts,
// level, msg, component and the line's fields, for journald (stored as MESSAGE) or a log shipper.
enum class LogFormat { text, json };

}  // namespace vgpu::core
