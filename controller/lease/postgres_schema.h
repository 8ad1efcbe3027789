// The PostgreSQL DDL of ha_lease, as `init-schema` applies it through
// PostgresLeaseStore::ApplySchema().
//
// The text is sql/postgres/ha_lease.sql itself, embedded at build time
// (controller/CMakeLists.txt generates lease/postgres_schema_ddl.h), so the
// file operators read and the statements the controller runs cannot drift.
// Thread-safe (constants and pure functions).
#ifndef AMS_HA_LEASE_POSTGRES_SCHEMA_H_
#define AMS_HA_LEASE_POSTGRES_SCHEMA_H_

#include <string>

#include "common/status.h"

namespace amsha {

inline constexpr char kDefaultLeaseTable[] = "ha_lease";

// The bytes of sql/postgres/ha_lease.sql.
const std::string& PostgresSchemaDdl();

// The DDL for a configured table: the file unchanged for "ha_lease" (the only
// name Amoro's AMS reads); for another name, the same statements with the
// table (quoted, optionally schema-qualified) and its index names
// (idx_<table>_expire, idx_<table>_node) substituted. kInvalidArgument for a
// name ValidateTableName() rejects.
StatusOr<std::string> PostgresSchemaDdlFor(const std::string& table);

}  // namespace amsha

#endif  // AMS_HA_LEASE_POSTGRES_SCHEMA_H_
