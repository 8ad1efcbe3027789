// lease_cache_bench: database statements per second of an emulated
// controller of N clusters, without and with the issue-15 lease components
// (LeaseStorePool + CachingLeaseStore + LeaseRowFeed), on a throwaway local
// PostgreSQL 15 (tests/support/pgtmp).
//
//   lease_cache_bench [CLUSTERS] [SECONDS] [HEARTBEAT_MS]   (default 100 10 3000)
//
// Each cluster's "loop" runs a pass every second on one of 4 worker threads,
// as the controller does today: read (cluster,'SWITCHOVER'), (cluster,'AMS')
// and (cluster,'AMS_GATE'), and renew the AMS lease every heartbeat. A gate
// per cluster renews its AMS_GATE row every second with unchanged state (a
// silent RenewWithInfo, on connections of its own, not counted). Counted:
// every statement the controller side sends (the loops and, with the cache,
// the feed's batched reads), through a counting LeaseStore in front of the
// pool. Prints statements/s and the pool's connections for both modes.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "lease/caching_lease_store.h"
#include "lease/lease_row_feed.h"
#include "lease/lease_store_pool.h"
#include "lease/postgres_lease_store.h"
#include "lease/postgres_listener.h"
#include "support/postgres_server.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;

// Counts the statements that reach the store behind it.
class CountingStore : public LeaseStore {
 public:
  explicit CountingStore(LeaseStore* s) : s_(s) {}
  std::atomic<int64_t> statements{0};

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override {
    ++statements;
    return s_->Read(key);
  }
  StatusOr<std::vector<LeaseRecord>> ReadClusters(const std::vector<std::string>& names) override {
    ++statements;
    return s_->ReadClusters(names);
  }
  StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                milliseconds ttl) override {
    statements += 2;  // insert-if-absent, conditional update
    return s_->Acquire(key, holder, ttl);
  }
  StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id, int32_t version,
                              milliseconds ttl) override {
    ++statements;
    return s_->Renew(key, node_id, version, ttl);
  }
  StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, milliseconds ttl,
                                      const std::string& info) override {
    ++statements;
    return s_->RenewWithInfo(key, node_id, version, ttl, info);
  }
  StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from, int32_t version,
                                 const LeaseHolder& to, milliseconds ttl) override {
    ++statements;
    return s_->HandOver(key, from, version, to, ttl);
  }
  Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) override {
    ++statements;
    return s_->Release(key, node_id, version);
  }
  Status PublishServiceInfo(const std::string& c, const std::string& id, int32_t v,
                            const LeaseHolder& t, const LeaseHolder& o) override {
    ++statements;
    return s_->PublishServiceInfo(c, id, v, t, o);
  }

 private:
  LeaseStore* s_;
};

LeaseStorePool::Factory FactoryFor(const PostgresConnectionOptions& options) {
  return [options]() -> StatusOr<std::unique_ptr<SqlLeaseStore>> {
    auto store = PostgresLeaseStore::Create(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
  };
}

struct Result {
  double statements_per_s = 0;
  double renewals_per_s = 0;
  int connections = 0;
  int64_t errors = 0;
};

Result Run(const PostgresConnectionOptions& options, const std::string& prefix, int clusters,
           int seconds, milliseconds heartbeat, bool cached) {
  LeaseStorePool pool(FactoryFor(options), 3);
  CountingStore counting(pool.Shared());
  LeaseRowCache cache(RealClock::Get());
  CachingLeaseStore caching(&counting, &cache, RealClock::Get());
  std::unique_ptr<LeaseRowFeed> feed;
  std::vector<std::string> names;
  for (int c = 0; c < clusters; ++c) names.push_back(prefix + std::to_string(c));
  LeaseStore* store = cached ? static_cast<LeaseStore*>(&caching) : &counting;

  // The gates, on two connections of their own: each cluster's gate row held.
  LeaseStorePool gate_pool(FactoryFor(options), 2);
  std::vector<int32_t> gate_version(clusters);
  for (int c = 0; c < clusters; ++c) {
    auto g = gate_pool.Shared()->Acquire({names[c], "AMS_GATE"},
                                         {"gate-" + names[c], "10.0.0.2", R"({"ams":"serving"})"},
                                         milliseconds(8000));
    gate_version[c] = g.ok() ? g->version : 0;
  }
  if (cached) {
    LeaseRowFeedOptions feed_options;
    feed = std::make_unique<LeaseRowFeed>(
        &cache, &counting,
        [options](LeaseListener::Callbacks callbacks) {
          return StartPostgresListener(options, std::move(callbacks));
        },
        RealClock::Get(), feed_options, nullptr);
    std::vector<FeedCluster> tracked;
    for (const std::string& n : names) tracked.push_back({n, false});
    feed->SetClusters(tracked);
    feed->Start();
    for (int i = 0; i < 500 && !(feed->Listening() && cache.Known(names.back())); ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> renewals{0};
  std::thread gates([&] {
    while (!stop) {
      for (int c = 0; c < clusters && !stop; ++c) {
        auto r = gate_pool.Shared()->RenewWithInfo({names[c], "AMS_GATE"}, "gate-" + names[c],
                                                   gate_version[c], milliseconds(8000),
                                                   R"({"ams":"serving"})");
        if (r.ok()) gate_version[c] = r->version;
      }
      std::this_thread::sleep_for(milliseconds(1000));
    }
  });
  // Acquire every AMS row first (not counted: the steady state is measured).
  std::vector<int32_t> version(clusters);
  for (int c = 0; c < clusters; ++c) {
    auto a = store->Acquire({names[c], "AMS"}, {"ams-" + names[c], "10.0.0.1", "{}"},
                            milliseconds(30000));
    version[c] = a.ok() ? a->version : 0;
  }
  std::vector<std::chrono::steady_clock::time_point> renewed(clusters,
                                                             std::chrono::steady_clock::now());
  const int64_t start_count = counting.statements;
  const auto start = std::chrono::steady_clock::now();
  const int workers = 4;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto next = std::chrono::steady_clock::now();
      while (!stop) {
        for (int c = w; c < clusters; c += workers) {
          const std::string& n = names[c];
          if (!store->Read({n, "SWITCHOVER"}).ok()) ++errors;
          auto ams = store->Read({n, "AMS"});
          if (!ams.ok()) ++errors;
          if (!store->Read({n, "AMS_GATE"}).ok()) ++errors;
          if (std::chrono::steady_clock::now() - renewed[c] >= heartbeat) {
            auto r = store->Renew({n, "AMS"}, "ams-" + n, version[c], milliseconds(30000));
            if (r.ok()) {
              ++renewals;
              version[c] = r->version;
              renewed[c] = std::chrono::steady_clock::now();
            } else {
              ++errors;
            }
          }
        }
        next += milliseconds(1000);
        std::this_thread::sleep_until(next);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const int64_t counted = counting.statements - start_count;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  for (auto& t : threads) t.join();
  gates.join();
  Result result;
  result.statements_per_s = counted / elapsed;
  result.renewals_per_s = renewals / elapsed;
  result.connections = pool.OpenConnections() + (feed && feed->Listening() ? 1 : 0);
  result.errors = errors;
  if (feed) feed->Stop();
  return result;
}

}  // namespace
}  // namespace amsha

int main(int argc, char** argv) {
  using namespace amsha;
  const int clusters = argc > 1 ? std::atoi(argv[1]) : 100;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  const milliseconds heartbeat(argc > 3 ? std::atoi(argv[3]) : 3000);
  testing::PostgresServer server;
  Status started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start PostgreSQL: %s\n", started.ToString().c_str());
    return 1;
  }
  auto schema = PostgresLeaseStore::Create(server.StoreOptions());
  if (!schema.ok() || !(*schema)->ApplySchema().ok()) return 1;
  std::printf("%d clusters, %d s, pass every 1 s, heartbeat %lld ms, 4 workers, pool of 3\n",
              clusters, seconds, static_cast<long long>(heartbeat.count()));
  std::printf("%-34s %14s %12s %12s %12s %8s\n", "mode", "statements/s", "per cluster",
              "renewals/s", "connections", "errors");
  for (bool cached : {false, true}) {
    Result r = Run(server.StoreOptions(), cached ? "cached-" : "plain-", clusters, seconds,
                   heartbeat, cached);
    std::printf("%-34s %14.1f %12.3f %12.1f %12d %8lld\n",
                cached ? "pool + cache + feed (issue 15)" : "pool, every pass reads (today)",
                r.statements_per_s, r.statements_per_s / clusters, r.renewals_per_s, r.connections,
                static_cast<long long>(r.errors));
  }
  std::printf(
      "renewals fall on the 1 s passes (every ceil(heartbeat) s); everything above them is "
      "reads\n");
  return 0;
}
