// StartPostgresListener: the LeaseListener of PostgreSQL, LISTEN
// ams_ha_lease on a connection of its own (the stores' connections must
// stay free for bounded statements).
//
// A background thread connects (bounded by connect_timeout), LISTENs and
// then sleeps in poll() on the socket; TCP keepalives and TCP_USER_TIMEOUT
// notice a dead peer within about 30 s. When the connection breaks it
// reconnects with backoff (100 ms up to 5 s). Used by PostgresLeaseNotifier
// (lease/postgres_lease_store.h) and, through a factory, by LeaseRowFeed
// (lease/lease_row_feed.h). Destruction stops the thread; it may wait for a
// connection attempt in progress (up to connect_timeout).
// Thread safety: as LeaseListener.
#ifndef AMS_HA_LEASE_POSTGRES_LISTENER_H_
#define AMS_HA_LEASE_POSTGRES_LISTENER_H_

#include <memory>

#include "common/status.h"
#include "lease/lease_listener.h"
#include "lease/sql_lease_store.h"

namespace amsha {

// kInvalidArgument for a non-positive connect timeout; starts the thread
// (and so the first connection attempt) at once.
StatusOr<std::unique_ptr<LeaseListener>> StartPostgresListener(LeaseDatabaseOptions options,
                                                               LeaseListener::Callbacks callbacks);

}  // namespace amsha

#endif  // AMS_HA_LEASE_POSTGRES_LISTENER_H_
