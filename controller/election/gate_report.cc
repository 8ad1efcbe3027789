#include "election/gate_report.h"

#include <cctype>
#include <cstdlib>

namespace amsha {
namespace {

// The raw text after `"key":` (skipping blanks), or npos.
size_t ValueStart(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\"";
  size_t at = json.find(needle);
  while (at != std::string::npos) {
    size_t i = at + needle.size();
    while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
    if (i < json.size() && json[i] == ':') {
      ++i;
      while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
      return i;
    }
    at = json.find(needle, at + 1);
  }
  return std::string::npos;
}

std::string StringValue(const std::string& json, const std::string& key) {
  size_t i = ValueStart(json, key);
  if (i == std::string::npos || i >= json.size() || json[i] != '"') return "";
  std::string out;
  for (++i; i < json.size() && json[i] != '"'; ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) ++i;
    out += json[i];
  }
  return out;
}

int64_t NumberValue(const std::string& json, const std::string& key) {
  size_t i = ValueStart(json, key);
  if (i == std::string::npos) return 0;
  return std::strtoll(json.c_str() + i, nullptr, 10);
}

}  // namespace

GateReport ParseGateReport(const std::string& json) {
  GateReport r;
  r.pod = StringValue(json, "pod");
  r.pod_uid = StringValue(json, "podUid");
  std::string ams = StringValue(json, "ams");
  if (ams == "stopped") r.ams = GateReport::Ams::kStopped;
  if (ams == "starting") r.ams = GateReport::Ams::kStarting;
  if (ams == "serving") r.ams = GateReport::Ams::kServing;
  if (ams == "unresponsive") r.ams = GateReport::Ams::kUnresponsive;
  if (ams == "stopping") r.ams = GateReport::Ams::kStopping;
  r.ams_started_at_ms = NumberValue(json, "amsStartedAtMs");
  r.serving_since_ms = NumberValue(json, "servingSinceMs");
  return r;
}

const char* GateAmsName(GateReport::Ams ams) {
  switch (ams) {
    case GateReport::Ams::kUnknown:
      return "unknown";
    case GateReport::Ams::kStopped:
      return "stopped";
    case GateReport::Ams::kStarting:
      return "starting";
    case GateReport::Ams::kServing:
      return "serving";
    case GateReport::Ams::kUnresponsive:
      return "unresponsive";
    case GateReport::Ams::kStopping:
      return "stopping";
  }
  return "unknown";
}

}  // namespace amsha
