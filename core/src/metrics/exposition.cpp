#include "exposition.hpp"

#include <cmath>
#include <cstdio>

namespace vgpu::core::metrics {
namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (alpha || (colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

// Backslashes and newlines are escaped in HELP text and label values; double quotes only in
// label values (the format's two escaping rules).
std::string escape(const std::string& v, bool quotes) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

std::string series(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (!Exposition::valid_label_name(k))
      throw std::invalid_argument("invalid Prometheus label name '" + k + "'");
    if (out.size() > 1) out += ',';
    out += k + "=\"" + escape(v, true) + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

const char* type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool Exposition::valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool Exposition::valid_label_name(const std::string& name) {
  if (name.empty() || name.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

std::string Exposition::sanitize(const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i)
    out += name_char(name[i], out.empty(), false) ? name[i] : '_';
  return out.empty() ? "_" : out;
}

void Exposition::family(const std::string& name, Type type, const std::string& help) {
  if (!valid_metric_name(name))
    throw std::invalid_argument("invalid Prometheus metric name '" + name + "'");
  auto [it, fresh] = families_.try_emplace(name, Family{type, help, {}, {}});
  if (!fresh && it->second.type != type)
    throw std::invalid_argument("metric '" + name + "' declared twice with different types");
  if (fresh) order_.push_back(name);
}

Exposition::Family& Exposition::declared(const std::string& name, Type expected) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::invalid_argument("metric '" + name + "' not declared");
  if (it->second.type != expected)
    throw std::invalid_argument("metric '" + name + "' used with the wrong type");
  return it->second;
}

void Exposition::put(Family& f, const std::string& key, double value) {
  auto [it, fresh] = f.samples.try_emplace(key, 0.0);
  if (fresh) f.order.push_back(key);
  it->second += value;
}

void Exposition::add(const std::string& name, const Labels& labels, double value) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::invalid_argument("metric '" + name + "' not declared");
  if (it->second.type == Type::histogram)
    throw std::invalid_argument("metric '" + name + "' is a histogram: use histogram()");
  put(it->second, series(labels), value);
}

void Exposition::histogram(const std::string& name, const Labels& labels,
                           const DurationHistogram& h) {
  Family& f = declared(name, Type::histogram);
  for (std::size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back("le", number(DurationHistogram::kBounds[i]));
    put(f, "_bucket" + series(with_le), static_cast<double>(h.at_or_below(i)));
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  put(f, "_bucket" + series(inf), static_cast<double>(h.count()));
  put(f, "_sum" + series(labels), h.sum_seconds());
  put(f, "_count" + series(labels), static_cast<double>(h.count()));
}

std::string Exposition::text() const {
  std::string out;
  for (const auto& name : order_) {
    const Family& f = families_.at(name);
    out += "# HELP " + name + " " + escape(f.help, false) + "\n";
    out += "# TYPE " + name + " " + type_name(f.type) + "\n";
    // A histogram's series keys start with _bucket/_sum/_count; the others with '{' or nothing.
    for (const auto& key : f.order) out += name + key + " " + number(f.samples.at(key)) + "\n";
  }
  return out;
}

}  // namespace vgpu::core::metrics
