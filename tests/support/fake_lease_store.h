// FakeLeaseStore: an in-memory LeaseStore with the same conditional
// semantics as PostgresLeaseStore, for deterministic unit tests.
//
// Its "database clock" is the wall time of the Clock it is given (a
// FakeClock in tests) plus an optional skew. Knobs: make the store
// unavailable, fail the next N calls with a chosen Status, and a log of
// every call. Thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_FAKE_LEASE_STORE_H_
#define AMS_HA_TESTS_SUPPORT_FAKE_LEASE_STORE_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "lease/lease_store.h"

namespace amsha::testing {

class FakeLeaseStore : public LeaseStore {
 public:
  explicit FakeLeaseStore(const Clock* clock) : clock_(clock) {}

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override;
  // One call in Calls(): "ReadClusters a,b".
  StatusOr<std::vector<LeaseRecord>> ReadClusters(
      const std::vector<std::string>& cluster_names) override;
  StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                std::chrono::milliseconds ttl) override;
  StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id, int32_t version,
                              std::chrono::milliseconds ttl) override;
  StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, std::chrono::milliseconds ttl,
                                      const std::string& server_info_json) override;
  StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from_node_id,
                                 int32_t version, const LeaseHolder& to,
                                 std::chrono::milliseconds ttl) override;
  Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) override;
  Status PublishServiceInfo(const std::string& cluster_name, const std::string& holder_node_id,
                            int32_t holder_version, const LeaseHolder& table_service,
                            const LeaseHolder& optimizing_service) override;

  // Knobs.
  void SetUnavailable(bool unavailable);
  void FailNext(int count, Status status);
  // Writes a row directly (as another writer would), stamped by the db clock.
  void Put(const LeaseKey& key, const LeaseHolder& holder, std::chrono::milliseconds ttl);
  // Writes `record` as it is (its key, version and times), as a writer with
  // its own clock would; db_now_ms is ignored.
  void PutRow(const LeaseRecord& record);
  void Clear(const LeaseKey& key);

  // Inspection.
  std::optional<LeaseRecord> Row(const LeaseKey& key) const;
  std::vector<std::string> Calls() const;  // "Renew AMS/prod", ...
  int CountCalls(const std::string& method) const;
  void ClearCalls();
  int64_t DbNowMs() const;

 private:
  using RowKey = std::pair<std::string, std::string>;
  Status Enter(const char* method, const LeaseKey& key);
  LeaseRecord Stamp(LeaseRecord record) const;

  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<RowKey, LeaseRecord> rows_;
  bool unavailable_ = false;
  int fail_count_ = 0;
  Status fail_status_;
  std::vector<std::string> calls_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_FAKE_LEASE_STORE_H_
