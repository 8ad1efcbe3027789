// LeaseNotification: what one NOTIFY on kLeaseChannel says.
//
// The payload PostgresLeaseStore sends with a write (lease/postgres_lease_store.cc)
// is the row after the write as compact JSON:
//   {"cluster":"prod","service":"AMS","node_id":"..","node_ip":"..",
//    "server_info_json":"..","lease_expire_ts":1700000030000,"version":7,
//    "updated_at":1700000000000,"db_now":1700000000000}
// (nullable columns as null; times in database-clock ms). A row too big for
// NOTIFY's 8000-byte limit, and every payload of a controller or gate from
// before this format, is the bare cluster name: a change of that cluster
// whose row is unknown. Listeners accept both, so a mixed-version rollout
// works. Pure functions; thread-compatible.
#ifndef AMS_HA_LEASE_LEASE_NOTIFICATION_H_
#define AMS_HA_LEASE_LEASE_NOTIFICATION_H_

#include <optional>
#include <string>

#include "lease/lease_record.h"

namespace amsha {

struct LeaseNotification {
  std::string cluster_name;
  std::optional<LeaseRecord> row;  // none for a bare-name payload
};

// nullopt for an empty payload, or a JSON one without a cluster.
std::optional<LeaseNotification> ParseLeaseNotification(const std::string& payload);

// The payload PostgresLeaseStore's SQL builds for `row`, for tests and
// fakes (the SQL is the source of truth).
std::string LeaseNotificationPayload(const LeaseRecord& row);

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_NOTIFICATION_H_
