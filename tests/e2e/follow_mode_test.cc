// End-to-end for `mode: follow`: three simulated Amoro AMS processes
// (fake-amoro-ams) elect themselves with Amoro's own statements, in Amoro's
// order (the version-0 placeholder insert first) and timing (ha.type:
// database, ttl 3s, heartbeat 1s); two controller processes only read the
// row and route the Service to the pod whose IP is the holder's node_ip,
// never to the placeholder's node. A trigger in the test database logs every row written to
// ha_lease with its writer (PostgreSQL: the session's application_name;
// MariaDB: the login user), to prove from the database itself that the
// controller wrote nothing for the cluster. Every scenario runs on
// PostgreSQL and on MariaDB, where fake-amoro-ams sends the same
// statements, as Amoro's mapper has one SQL for both.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "cli/status_report.h"
#include "common/clock.h"
#include "support/amoro_ha_writer.h"
#include "support/ams_journal.h"
#include "support/e2e_cluster.h"
#include "support/sql_client.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Row-level, AFTER: every INSERT, UPDATE or DELETE that changed a row, with
// who wrote it (`app`).
struct Audit {
  std::vector<std::string> ddl;
  // The `app` of the controllers' writes and of fake-amoro-ams's.
  std::string controller_app;
  std::string amoro_app;
  // The cluster's service names, sorted and joined by ','.
  std::string services_sql;
};

// PostgreSQL names the writer by its session's application_name.
Audit PostgresAudit() {
  return Audit{
      {"CREATE TABLE ha_lease_audit (at timestamptz NOT NULL DEFAULT clock_timestamp(), op text,"
       " cluster_name text, service_name text, node_id text, app text, backend_pid int)",
       "CREATE FUNCTION ha_lease_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$\n"
       "DECLARE r ha_lease;\n"
       "BEGIN\n"
       "  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;\n"
       "  INSERT INTO ha_lease_audit (op, cluster_name, service_name, node_id, app, backend_pid)\n"
       "  VALUES (TG_OP, r.cluster_name, r.service_name, r.node_id,\n"
       "          current_setting('application_name'), pg_backend_pid());\n"
       "  RETURN NULL;\n"
       "END $$",
       "CREATE TRIGGER ha_lease_audit AFTER INSERT OR UPDATE OR DELETE ON ha_lease"
       " FOR EACH ROW EXECUTE FUNCTION ha_lease_audit()"},
      "ams-ha-controller",
      "fake-amoro-ams",
      "SELECT string_agg(service_name, ',' ORDER BY service_name) FROM ha_lease"
      " WHERE cluster_name = 'prod'"};
}

// MariaDB shows a trigger no connection attribute (that needs
// performance_schema, off by default), so the simulated Amoro logs in as a
// user of its own, `amoro`, and the trigger records the writer's user: the
// controllers are `ams`. A trigger runs with its definer's (root's) rights,
// so neither user may write the audit table itself.
std::string MysqlTrigger(const std::string& op, const char* row) {
  return "CREATE TRIGGER ha_lease_audit_" + op + " AFTER " + op +
         " ON ha_lease FOR EACH ROW INSERT INTO ha_lease_audit"
         " (op, cluster_name, service_name, node_id, app, backend_pid) VALUES ('" +
         op + "', " + row + ".cluster_name, " + row + ".service_name, " + row +
         ".node_id, SUBSTRING_INDEX(USER(), '@', 1), CONNECTION_ID())";
}

constexpr char kAmoroMysqlPassword[] = "amoro-test-password";

Audit MysqlAudit() {
  return Audit{
      {"CREATE TABLE ha_lease_audit (at TIMESTAMP(6) NOT NULL DEFAULT"
       " CURRENT_TIMESTAMP(6), op VARCHAR(8), cluster_name VARCHAR(64),"
       " service_name VARCHAR(64), node_id VARCHAR(256), app VARCHAR(128),"
       " backend_pid BIGINT)",
       MysqlTrigger("INSERT", "NEW"), MysqlTrigger("UPDATE", "NEW"), MysqlTrigger("DELETE", "OLD"),
       std::string("CREATE USER 'amoro'@'%' IDENTIFIED BY '") + kAmoroMysqlPassword + "'",
       "GRANT SELECT, INSERT, UPDATE ON amsha.ha_lease TO 'amoro'@'%'"},
      "ams",
      "amoro",
      "SELECT GROUP_CONCAT(service_name ORDER BY service_name SEPARATOR ',')"
      " FROM ha_lease WHERE cluster_name = 'prod'"};
}

// The parameter is E2eOptions::engine: "postgres" or "mysql" (MariaDB).
class FollowModeE2eTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    E2eOptions options;
    options.engine = GetParam();
    options.mode = "follow";
    options.start_ams = false;
    options.controllers = 0;
    // As gate_failover_test: pod IPs of their own, picked per process.
    options.pod_ip_base = 100 + 3 * (::getpid() % 50);
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start(/*wait_for_leader=*/false);
    ASSERT_TRUE(s.ok()) << s.ToString();
    // Before anything can write the cluster's rows.
    auto admin = OpenSqlClient(cluster_->DatabaseAdminUrl(), "", "");
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = std::move(admin).value();
    audit_ = cluster_->mysql() ? MysqlAudit() : PostgresAudit();
    for (const std::string& ddl : audit_.ddl) {
      auto r = admin_->Execute(ddl, {});
      ASSERT_TRUE(r.ok()) << ddl << ": " << r.status().ToString();
    }
    if (cluster_->mysql()) {
      amoro_url_ = "mysql://amoro@127.0.0.1:" + std::to_string(cluster_->DatabasePort()) + "/amsha";
      amoro_password_ = kAmoroMysqlPassword;
    } else {
      amoro_url_ = cluster_->DatabaseUrl();
      amoro_password_ = cluster_->DatabasePassword();
    }
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster_->StartController(i).ok());
    journal_ = cluster_->dir() + "/amoro-journal";
  }

  void TearDown() override {
    if (!cluster_) return;
    EXPECT_LE(cluster_->MaxSelectedEver(), 1) << "the Service selected two pods at once";
    EXPECT_EQ(AmsJournal::Read(journal_).FirstOverlap(), "");
    if (HasFailure()) {
      std::cerr << cluster_->Logs();
      for (auto& ams : amoro_) {
        if (ams) std::cerr << "---- " << ams->log_path() << " ----\n" << ams->Log();
      }
    }
    amoro_.clear();
    cluster_.reset();
  }

  void StartAmoro(int i) {
    if (static_cast<int>(amoro_.size()) <= i) amoro_.resize(i + 1);
    amoro_[i] = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryDir() + "/tests/fake-amoro-ams", "--db", amoro_url_,
                                 "--cluster", "prod", "--name", E2eCluster::PodName(i), "--ip",
                                 cluster_->PodIp(i), "--ttl", "3s", "--heartbeat", "1s",
                                 "--journal", journal_},
        std::map<std::string, std::string>{{"AMS_HA_DB_PASSWORD", amoro_password_}},
        cluster_->dir() + "/amoro-" + std::to_string(i) + ".log");
    ASSERT_TRUE(amoro_[i]->Start().ok());
  }

  // The pod whose IP the lease names once an AMS acquired it (version >= 1,
  // as Amoro's acquireLease writes it), expired or not; "" for none or
  // Amoro's placeholder row; "?" for an IP of no pod.
  std::string HolderOf(const std::optional<LeaseRecord>& lease) {
    if (!lease || !lease->node_ip || lease->version < 1) return "";
    for (int i = 0; i < 3; ++i) {
      if (lease->node_ip == cluster_->PodIp(i)) return E2eCluster::PodName(i);
    }
    return "?";
  }
  // The pod whose IP the unexpired lease names, or "".
  std::string Holder() {
    auto lease = cluster_->Lease();
    if (!lease || lease->Expired()) return "";
    return HolderOf(lease);
  }
  static int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }

  // The Service routes exactly the holder, and a client reaches its AMS.
  std::string WaitForRoutedHolder(const std::string& not_this, milliseconds timeout) {
    std::string holder;
    bool ok = E2eCluster::WaitUntil(
        [&] {
          holder = Holder();
          return !holder.empty() && holder != "?" && holder != not_this &&
                 cluster_->Routed() == std::vector<std::string>{holder};
        },
        timeout);
    EXPECT_TRUE(ok) << "holder " << Holder() << ", routed "
                    << ::testing::PrintToString(cluster_->Routed());
    if (ok) {
      EXPECT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->AskThroughService() == holder; },
                                        seconds(3)))
          << "a client through ams-leader reaches " << holder;
    }
    return holder;
  }

  // `where` with CONTROLLER and AMORO replaced by the quoted `app` of the
  // controllers and of fake-amoro-ams.
  std::string Where(std::string where) const {
    for (auto [name, app] :
         {std::pair<std::string, std::string>{"CONTROLLER", audit_.controller_app},
          {"AMORO", audit_.amoro_app}}) {
      for (size_t at; (at = where.find(name)) != std::string::npos;) {
        where.replace(at, name.size(), "'" + app + "'");
      }
    }
    return where;
  }
  // The number of audited writes matching `where` (see Where()).
  int64_t Count(const std::string& where) {
    auto n = admin_->Single("SELECT count(*) FROM ha_lease_audit WHERE " + Where(where));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? std::stoll(*n) : -1;
  }
  // Those writes, one per line, for a failure message.
  std::string Writes(const std::string& where) {
    auto rows = admin_->Execute(
        "SELECT op, cluster_name, service_name, node_id, app, backend_pid FROM ha_lease_audit"
        " WHERE " +
            Where(where),
        {});
    if (!rows.ok()) return rows.status().ToString();
    std::string out;
    for (const auto& row : rows->rows) {
      for (const auto& v : row) out += v.value_or("NULL") + " ";
      out += "\n";
    }
    return out;
  }

  std::unique_ptr<E2eCluster> cluster_;
  std::unique_ptr<SqlClient> admin_;
  Audit audit_;
  std::string amoro_url_, amoro_password_;  // fake-amoro-ams's login
  std::vector<std::unique_ptr<ChildProcess>> amoro_;
  std::string journal_;
};

TEST_P(FollowModeE2eTest, TheServiceFollowsAmorosOwnElectionAndTheControllerWritesNothing) {
  for (int i = 0; i < 3; ++i) StartAmoro(i);
  std::string holder = WaitForRoutedHolder("", seconds(15));
  ASSERT_FALSE(holder.empty());
  // `status` finds the follow-mode holder by its IP and calls it healthy.
  std::string status;
  EXPECT_EQ(cluster_->RunCli("status", "--output json", &status), 0) << status;
  EXPECT_NE(status.find(R"("mode":"follow")"), std::string::npos) << status;
  EXPECT_NE(status.find(R"("leader":")" + holder + "\""), std::string::npos) << status;
  EXPECT_EQ(status.find(R"("gate":)"), std::string::npos) << "no gate row in follow mode";
  for (int round = 0; round < 3; ++round) {
    // The leading AMS stops; another takes the lease once it expires.
    amoro_[IndexOf(holder)]->Stop();
    std::string next = WaitForRoutedHolder(holder, seconds(15));
    ASSERT_FALSE(next.empty()) << "round " << round;
    StartAmoro(IndexOf(holder));  // back as a follower
    holder = next;
  }
  // A controller takeover changes nothing either.
  std::string active = cluster_->ActiveController();
  ASSERT_FALSE(active.empty());
  cluster_->KillController(active == "ctl-0" ? 0 : 1, SIGKILL);
  amoro_[IndexOf(holder)]->Stop();
  std::string after = WaitForRoutedHolder(holder, seconds(20));
  ASSERT_FALSE(after.empty());

  // From the database: every write of the cluster's rows came from the
  // simulated Amoro processes; the controllers' own row shows the trigger
  // sees their writes.
  EXPECT_EQ(Count("cluster_name = 'prod' AND app = CONTROLLER"), 0);
  EXPECT_EQ(Count("cluster_name = 'prod' AND app <> AMORO"), 0)
      << Writes("cluster_name = 'prod' AND app <> AMORO");
  // The first insert and an acquisition per leader at least.
  EXPECT_GE(Count("cluster_name = 'prod' AND app = AMORO"), 6);
  EXPECT_GT(Count("cluster_name = 'ams-ha-controller' AND app = CONTROLLER"), 0);
  auto services = admin_->Single(audit_.services_sql);
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(*services, "AMS,OPTIMIZING_SERVICE,TABLE_SERVICE")
      << "Amoro's leader writes its service rows; no switchover rows";
  std::string logs = cluster_->Logs();
  EXPECT_NE(logs.find("reason=lease_expired"), std::string::npos) << "failovers are announced";
}

TEST_P(FollowModeE2eTest, FromAnEmptyTableNothingIsRoutedUntilARealHolderExistsNorANonHolder) {
  ASSERT_FALSE(cluster_->Lease().has_value()) << "an empty table";
  // ams-0 alone first: its insertIfAbsent writes the placeholder (version 0,
  // no server info, naming ams-0, expiring in a ttl); nobody can acquire
  // before that expires, not even ams-0.
  StartAmoro(0);
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] {
        auto lease = cluster_->Lease();
        return lease && lease->version == 0;
      },
      seconds(5)));
  auto placeholder = cluster_->Lease();
  EXPECT_EQ(placeholder->server_info_json.value_or(""), "");
  EXPECT_EQ(placeholder->node_ip, cluster_->PodIp(0));
  std::string status;
  EXPECT_EQ(cluster_->RunCli("status", "", &status), kStatusNoLeader) << status;
  EXPECT_NE(status.find("Amoro's placeholder row: no leader yet"), std::string::npos) << status;
  StartAmoro(1);
  StartAmoro(2);

  // Sample routing between two reads of the row. The routed pod must be
  // the row's holder, or, for at most a loop pass after the row moved, the
  // holder before: never Amoro's placeholder node, never a pod that has
  // not held the lease.
  std::string holder;    // the row's holder at the last sample
  std::string previous;  // the holder before it
  MonoTime moved_at = RealClock::Get()->Now();
  int placeholder_samples = 0, routed_samples = 0, takeovers = 0;
  bool stopped_leader = false;
  const MonoTime end = RealClock::Get()->Now() + seconds(14);
  while (RealClock::Get()->Now() < end) {
    auto before = cluster_->Lease();
    std::vector<std::string> routed = cluster_->Routed();
    auto after = cluster_->Lease();
    const MonoTime now = RealClock::Get()->Now();
    for (const auto& lease : {before, after}) {
      std::string h = HolderOf(lease);
      if (h != holder) {
        previous = holder;
        holder = h;
        moved_at = now;
        if (!previous.empty()) ++takeovers;
      }
    }
    if (after && after->version == 0) ++placeholder_samples;
    ASSERT_LE(routed.size(), 1u);
    if (!routed.empty()) {
      ++routed_samples;
      ASSERT_NE(HolderOf(after), "") << "routed " << routed[0] << " while no AMS holds the lease";
      const bool lagging = routed[0] == previous && now - moved_at < milliseconds(2500);
      ASSERT_TRUE(routed[0] == holder || lagging) << "routed " << routed[0] << ", the row names "
                                                  << holder << " (before it " << previous << ")";
    }
    // Once the first real holder is routed, stop it: the next takeover
    // (after its lease expires) is followed the same way.
    if (!stopped_leader && !routed.empty() && routed_samples > 10) {
      stopped_leader = true;
      amoro_[IndexOf(routed[0])]->Stop();
    }
    std::this_thread::sleep_for(milliseconds(25));
  }
  EXPECT_GT(placeholder_samples, 0) << "the placeholder phase was observed";
  EXPECT_GT(routed_samples, 0) << "a real holder was routed";
  EXPECT_TRUE(stopped_leader);
  EXPECT_GE(takeovers, 1) << "a takeover after the leader stopped was followed";
  EXPECT_FALSE(WaitForRoutedHolder("", seconds(10)).empty());
  EXPECT_EQ(Count("cluster_name = 'prod' AND app <> AMORO"), 0);
}

TEST_P(FollowModeE2eTest, WhenEveryAmsLostItsLeaseNobodyCampaignsAndTheControllerSaysSo) {
  StartAmoro(0);
  StartAmoro(1);
  std::string first = WaitForRoutedHolder("", seconds(15));
  ASSERT_FALSE(first.empty());
  // Another writer moves the version under the leader: its next renewal
  // fails and Amoro demotes it for good (leadershipRevoked). The other AMS
  // takes the lease once it expires; then the same happens to it.
  auto revoke_the_leader = [&] {
    auto r = admin_->Execute(
        "UPDATE ha_lease SET version = version + 1 WHERE cluster_name = 'prod' AND "
        "service_name = 'AMS'",
        {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  revoke_the_leader();
  std::string second = WaitForRoutedHolder(first, seconds(15));
  ASSERT_FALSE(second.empty());
  revoke_the_leader();
  // Nobody campaigns now; both processes run and all pods stay Ready.
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] { return cluster_->standin().Events().find("NoAmsCampaigning") != std::string::npos; },
      seconds(25)))
      << "routed " << ::testing::PrintToString(cluster_->Routed());
  EXPECT_TRUE(cluster_->Routed().empty());
  EXPECT_NE(cluster_->standin().Events().find("no AMS is campaigning"), std::string::npos);
  EXPECT_NE(cluster_->Logs().find("no AMS is campaigning"), std::string::npos);
  EXPECT_TRUE(amoro_[0]->Running() && amoro_[1]->Running()) << "the AMS processes still run";
  // A restarted AMS campaigns again and is routed.
  amoro_[IndexOf(first)]->Stop();
  StartAmoro(IndexOf(first));
  EXPECT_EQ(WaitForRoutedHolder("", seconds(15)), first);
  EXPECT_EQ(Count("cluster_name = 'prod' AND app = CONTROLLER"), 0)
      << Writes("cluster_name = 'prod' AND app = CONTROLLER");
}

TEST_P(FollowModeE2eTest, AHolderThatIsNoPodIsReportedAndNotRoutedAndSwitchoverIsRefused) {
  auto session = OpenSqlClient(cluster_->DatabaseUrl(), cluster_->DatabasePassword(), "");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  AmoroHaWriter foreign(session->get(), "prod", "10.9.9.9:1261:elsewhere", "10.9.9.9", seconds(4));
  // Amoro's insert-if-absent names the node with an expiry; the
  // acquisition itself succeeds once that has run out.
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] {
        auto took = foreign.TryAcquire();
        return took.ok() && took.value();
      },
      seconds(10)));
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] { return cluster_->standin().Events().find("ForeignLeaseHolder") != std::string::npos; },
      seconds(10)));
  EXPECT_TRUE(cluster_->Routed().empty()) << "an unmatched holder is reported, not routed";

  std::string out;
  EXPECT_EQ(cluster_->RunCli("status", "", &out), 4) << "a holder, nothing routed\n" << out;
  int code = cluster_->RunCli("switchover", "--cluster prod --to ams-1", &out);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("is in follow mode"), std::string::npos) << out;

  // Once the foreign lease expires, an AMS of the cluster takes it.
  StartAmoro(1);
  EXPECT_EQ(WaitForRoutedHolder("", seconds(15)), "ams-1");
}

INSTANTIATE_TEST_SUITE_P(Engines, FollowModeE2eTest, ::testing::Values("postgres", "mysql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "mysql" ? "OnMariaDb" : "OnPostgres";
                         });

}  // namespace
}  // namespace amsha::testing
