// Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per
// family, then its samples. Families keep the order they were declared in; samples with the
// same labels are added together, so callers may merge sources (the scheduler's refusals and
// the mediator's) without producing a duplicate series, which Prometheus rejects.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "histogram.hpp"

namespace vgpu::core::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { counter, gauge, histogram };

class Exposition {
 public:
  // Declares a family. Throws std::invalid_argument for a name outside [a-zA-Z_:][a-zA-Z0-9_:]*,
  // or the same name declared again with another type.
  void family(const std::string& name, Type type, const std::string& help);
  // Adds to a sample of a declared counter or gauge family. Label names must match
  // [a-zA-Z_][a-zA-Z0-9_]* and not start with "__"; values may hold anything.
  void add(const std::string& name, const Labels& labels, double value);
  void histogram(const std::string& name, const Labels& labels, const DurationHistogram& h);

  std::string text() const;

  static bool valid_metric_name(const std::string& name);
  static bool valid_label_name(const std::string& name);
  // A plugin's counter name ("file.requests") as a metric name fragment ("file_requests").
  static std::string sanitize(const std::string& name);

 private:
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, double> samples;  // "{labels}" suffix (series) -> value
    std::vector<std::string> order;         // series in the order first seen
  };
  Family& declared(const std::string& name, Type expected);
  void put(Family& f, const std::string& series, double value);

  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

}  // namespace vgpu::core::metrics
