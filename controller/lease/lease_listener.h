// LeaseListener: a live subscription to the lease table's change
// notifications (kLeaseChannel), delivering each payload to callbacks.
//
// Created started by an engine's factory (StartPostgresListener in
// lease/postgres_listener.h; MySQL has none) for PostgresLeaseNotifier (the
// gate) and LeaseRowFeed (the controller). The callbacks run on the
// listener's own thread, one at a time, in this order per connection:
// on_listening once LISTEN took effect (notifications sent before it are
// lost, so the owner should re-read), then on_notification per payload
// (lease/lease_notification.h), then on_lost when the connection ended.
// on_lost is called once per outage: after a connection that listened ended,
// and after the first failed attempt at start; the listener keeps
// reconnecting with backoff meanwhile. Destroying it stops the thread and
// closes the connection.
// Thread safety: Listening() and DropConnection() from any thread.
#ifndef AMS_HA_LEASE_LEASE_LISTENER_H_
#define AMS_HA_LEASE_LEASE_LISTENER_H_

#include <functional>
#include <string>

namespace amsha {

class LeaseListener {
 public:
  struct Callbacks {
    std::function<void()> on_listening;
    std::function<void(const std::string& payload)> on_notification;
    std::function<void(const std::string& why)> on_lost;
  };

  virtual ~LeaseListener() = default;

  // True while the LISTEN connection is up.
  virtual bool Listening() const = 0;
  // Cuts the connection now, as a broken network would (tests).
  virtual void DropConnection() = 0;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_LISTENER_H_
