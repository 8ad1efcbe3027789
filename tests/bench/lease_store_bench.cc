// lease_store_bench: throughput and latency of the lease store on both
// engines side by side: PostgresLeaseStore against a throwaway local
// PostgreSQL 15 (tests/support/pgtmp: fsync=off, loopback) and
// MysqlLeaseStore against a throwaway local MariaDB 10.11
// (tests/support/mariadbtmp: innodb_flush_log_at_trx_commit=2, loopback).
//
//   lease_store_bench [SECONDS_PER_CASE] [postgres|mysql|both]
//                                     (default 2 s, both; 5 cases per engine)
//
// Each connection is a thread with its own store. "acquire" takes a lease
// that is already expired (ttl 0 on its own row), so every call succeeds
// and runs both statements (insert-if-absent, conditional update); "renew"
// extends a held lease; the last case puts 8 connections on ONE row, where
// most calls lose (kConflict) after waiting for the row lock.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lease/mysql_lease_store.h"
#include "lease/postgres_lease_store.h"
#include "support/mariadb_server.h"
#include "support/postgres_server.h"

namespace amsha {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Op { kAcquire, kRenew };

struct Case {
  const char* name;
  Op op;
  int connections;
  bool shared_row;
};

struct Outcome {
  std::vector<double> latencies_ms;
  int64_t conflicts = 0;
  int64_t errors = 0;
  std::string first_error;
};

LeaseHolder Holder(int i) {
  return LeaseHolder{"bench-" + std::to_string(i) + ":1261:uuid", "10.0.0.1",
                     ServerInfoJson("10.0.0.1", 1260, 1630)};
}

using StoreFactory = std::function<StatusOr<std::unique_ptr<SqlLeaseStore>>()>;

template <typename Store>
StoreFactory FactoryOf(LeaseDatabaseOptions options) {
  return [options]() -> StatusOr<std::unique_ptr<SqlLeaseStore>> {
    auto store = Store::Create(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
  };
}

struct Engine {
  const char* name;
  StoreFactory open;
};

// One connection's loop: `op` until the deadline, timing each call.
void RunConnection(const StoreFactory& open, const Case& c, int index, Clock::time_point start,
                   Clock::time_point deadline, Outcome* out) {
  auto created = open();
  if (!created.ok()) {
    out->errors++;
    out->first_error = created.status().ToString();
    return;
  }
  std::unique_ptr<SqlLeaseStore> store = std::move(created).value();
  const LeaseKey key{c.shared_row ? std::string("bench-shared") + c.name
                                  : "bench-" + std::string(c.name) + "-" +
                                        std::to_string(c.connections) + "-" + std::to_string(index),
                     kAmsServiceName};
  const LeaseHolder holder = Holder(index);
  int32_t version = 0;
  if (c.op == Op::kRenew) {
    auto held = store->Acquire(key, holder, milliseconds(600'000));
    if (!held.ok()) {
      out->errors++;
      out->first_error = held.status().ToString();
      return;
    }
    version = held->version;
  } else {
    (void)store->Read(key);  // connect before the clock starts
  }
  std::this_thread::sleep_until(start);
  while (Clock::now() < deadline) {
    Clock::time_point t0 = Clock::now();
    Status status;
    if (c.op == Op::kAcquire) {
      status = store->Acquire(key, holder, milliseconds(0)).status();
    } else {
      auto renewed = store->Renew(key, holder.node_id, version, milliseconds(600'000));
      if (renewed.ok()) version = renewed->version;
      status = renewed.status();
    }
    out->latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (status.IsConflict()) {
      out->conflicts++;
    } else if (!status.ok()) {
      out->errors++;
      if (out->first_error.empty()) out->first_error = status.ToString();
    }
  }
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int Main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const std::string which = argc > 2 ? argv[2] : "both";
  if (seconds <= 0 || seconds > 60 ||
      (which != "both" && which != "postgres" && which != "mysql")) {
    std::fprintf(stderr,
                 "usage: lease_store_bench [SECONDS_PER_CASE (0-60]] [postgres|mysql|both]\n");
    return 2;
  }
  testing::PostgresServer postgres;
  testing::MariaDbServer maria;
  std::vector<Engine> engines;
  if (which != "mysql") {
    Status started = postgres.Start();
    if (!started.ok()) {
      std::fprintf(stderr, "lease_store_bench: PostgreSQL: %s\n", started.ToString().c_str());
      return 1;
    }
    engines.push_back({"postgres", FactoryOf<PostgresLeaseStore>(postgres.StoreOptions())});
  }
  if (which != "postgres") {
    Status started = maria.Start();
    if (!started.ok()) {
      std::fprintf(stderr, "lease_store_bench: MariaDB: %s\n", started.ToString().c_str());
      return 1;
    }
    engines.push_back({"mariadb", FactoryOf<MysqlLeaseStore>(maria.StoreOptions())});
  }
  for (const Engine& e : engines) {
    auto store = e.open();
    Status applied = store.ok() ? (*store)->ApplySchema() : store.status();
    if (!applied.ok()) {
      std::fprintf(stderr, "lease_store_bench: %s: %s\n", e.name, applied.ToString().c_str());
      return 1;
    }
  }

  const std::vector<Case> cases = {
      {"acquire", Op::kAcquire, 1, false},
      {"acquire", Op::kAcquire, 8, false},
      {"renew", Op::kRenew, 1, false},
      {"renew", Op::kRenew, 8, false},
      {"acquire-one-row", Op::kAcquire, 8, true},
  };
  std::printf(
      "lease_store_bench: PostgreSQL 15 (pgtmp, fsync=off) and MariaDB 10.11 (mariadbtmp, "
      "flush at commit=2) on 127.0.0.1, %.1f s per case, %u CPU(s)\n",
      seconds, std::thread::hardware_concurrency());
  std::printf("%-16s %-9s %5s %8s %9s %8s %8s %8s %9s %6s\n", "case", "engine", "conns", "ops",
              "ops/s", "p50 ms", "p99 ms", "max ms", "conflicts", "errors");
  int exit_code = 0;
  for (const Case& c : cases) {
    for (const Engine& e : engines) {
      std::vector<Outcome> outcomes(c.connections);
      const Clock::time_point start = Clock::now() + milliseconds(300);
      const Clock::time_point deadline = start + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(seconds));
      std::vector<std::thread> threads;
      for (int i = 0; i < c.connections; ++i) {
        threads.emplace_back(RunConnection, e.open, c, i, start, deadline, &outcomes[i]);
      }
      for (auto& t : threads) t.join();
      Outcome all;
      for (const Outcome& o : outcomes) {
        all.latencies_ms.insert(all.latencies_ms.end(), o.latencies_ms.begin(),
                                o.latencies_ms.end());
        all.conflicts += o.conflicts;
        all.errors += o.errors;
        if (all.first_error.empty()) all.first_error = o.first_error;
      }
      std::sort(all.latencies_ms.begin(), all.latencies_ms.end());
      const double elapsed = std::chrono::duration<double>(deadline - start).count();
      std::printf("%-16s %-9s %5d %8zu %9.0f %8.2f %8.2f %8.2f %9lld %6lld\n", c.name, e.name,
                  c.connections, all.latencies_ms.size(),
                  static_cast<double>(all.latencies_ms.size()) / elapsed,
                  Percentile(all.latencies_ms, 0.50), Percentile(all.latencies_ms, 0.99),
                  all.latencies_ms.empty() ? 0.0 : all.latencies_ms.back(),
                  static_cast<long long>(all.conflicts), static_cast<long long>(all.errors));
      if (all.errors > 0) {
        std::fprintf(stderr, "  first error: %s\n", all.first_error.c_str());
        exit_code = 1;
      }
    }
  }
  return exit_code;
}

}  // namespace
}  // namespace amsha

int main(int argc, char** argv) { return amsha::Main(argc, argv); }
