// PodBuilder: terse construction of kube Pod values for unit tests.
//   Pod p = PodBuilder("ams-0").Ip("10.0.0.1").ReadySince("2026-01-01T00:00:00Z").Build();
#ifndef AMS_HA_TESTS_SUPPORT_POD_BUILDER_H_
#define AMS_HA_TESTS_SUPPORT_POD_BUILDER_H_

#include <string>

#include "kube/kube_types.h"

namespace amsha::testing {

class PodBuilder {
 public:
  explicit PodBuilder(const std::string& name) {
    pod_.name = name;
    pod_.namespace_name = "ams";
    pod_.uid = "uid-" + name;
    pod_.phase = "Running";
    pod_.ready = true;
    pod_.pod_ip = "10.0.0." + std::to_string(name.size() + name.back());
    pod_.ready_transition_time = "2026-01-01T00:00:00Z";
    pod_.labels = {{"app", "amoro"}};
  }
  PodBuilder& Ip(const std::string& ip) {
    pod_.pod_ip = ip;
    return *this;
  }
  PodBuilder& Uid(const std::string& uid) {
    pod_.uid = uid;
    return *this;
  }
  PodBuilder& ReadySince(const std::string& rfc3339) {
    pod_.ready = true;
    pod_.ready_transition_time = rfc3339;
    return *this;
  }
  PodBuilder& NotReady() {
    pod_.ready = false;
    return *this;
  }
  PodBuilder& Terminating() {
    pod_.deletion_timestamp = "2026-01-01T00:00:00Z";
    return *this;
  }
  PodBuilder& Label(const std::string& k, const std::string& v) {
    pod_.labels[k] = v;
    return *this;
  }
  Pod Build() const { return pod_; }
  operator Pod() const { return pod_; }  // NOLINT: test convenience

 private:
  Pod pod_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_POD_BUILDER_H_
