// End-to-end for `mode: follow`: three simulated Amoro AMS processes
// (fake-amoro-ams) elect themselves with Amoro's own statements and timing
// (ha.type: database, ttl 3s, heartbeat 1s); two controller processes only
// read the row and route the Service to the pod whose IP is the holder's
// node_ip. A trigger in the test database logs every row written to
// ha_lease with the writer's application_name, to prove from PostgreSQL
// itself that the controller wrote nothing for the cluster.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "lease/postgres_conninfo.h"
#include "support/amoro_ha_writer.h"
#include "support/ams_journal.h"
#include "support/e2e_cluster.h"
#include "support/sql_session.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Row-level, AFTER: every INSERT, UPDATE or DELETE that changed a row.
const char* const kAuditDdl[] = {
    "CREATE TABLE ha_lease_audit (at timestamptz NOT NULL DEFAULT clock_timestamp(), op text,"
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
    " FOR EACH ROW EXECUTE FUNCTION ha_lease_audit()",
};

class FollowModeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    E2eOptions options;
    options.mode = "follow";
    options.start_ams = false;
    options.controllers = 0;
    // As gate_failover_test: pod IPs of their own, picked per process.
    options.pod_ip_base = 100 + 3 * (::getpid() % 50);
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start(/*wait_for_leader=*/false);
    ASSERT_TRUE(s.ok()) << s.ToString();
    // Before anything can write the cluster's rows.
    auto admin = SqlSession::Open(cluster_->postgres().admin_url());
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = std::move(admin).value();
    for (const char* ddl : kAuditDdl) {
      auto r = admin_->Exec(ddl);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
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
        std::vector<std::string>{BinaryDir() + "/tests/fake-amoro-ams", "--db",
                                 cluster_->postgres().url(), "--cluster", "prod", "--name",
                                 E2eCluster::PodName(i), "--ip", cluster_->PodIp(i), "--ttl", "3s",
                                 "--heartbeat", "1s", "--journal", journal_},
        std::map<std::string, std::string>{{"AMS_HA_DB_PASSWORD", cluster_->postgres().password()}},
        cluster_->dir() + "/amoro-" + std::to_string(i) + ".log");
    ASSERT_TRUE(amoro_[i]->Start().ok());
  }

  // The pod whose IP the unexpired lease names, or "".
  std::string Holder() {
    auto lease = cluster_->Lease();
    if (!lease || lease->Expired()) return "";
    for (int i = 0; i < 3; ++i) {
      if (lease->node_ip == cluster_->PodIp(i)) return E2eCluster::PodName(i);
    }
    return "?";
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

  int64_t Count(const std::string& where) {
    auto n = admin_->Scalar("SELECT count(*) FROM ha_lease_audit WHERE " + where);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? std::stoll(*n) : -1;
  }

  std::unique_ptr<E2eCluster> cluster_;
  std::unique_ptr<SqlSession> admin_;
  std::vector<std::unique_ptr<ChildProcess>> amoro_;
  std::string journal_;
};

TEST_F(FollowModeE2eTest, TheServiceFollowsAmorosOwnElectionAndTheControllerWritesNothing) {
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

  // From PostgreSQL: every write of the cluster's rows came from the
  // simulated Amoro processes; the controllers' own row shows the trigger
  // sees their writes.
  EXPECT_EQ(Count("cluster_name = 'prod' AND app = 'ams-ha-controller'"), 0);
  EXPECT_EQ(Count("cluster_name = 'prod' AND app <> 'fake-amoro-ams'"), 0);
  // The first insert and an acquisition per leader at least.
  EXPECT_GE(Count("cluster_name = 'prod' AND app = 'fake-amoro-ams'"), 6);
  EXPECT_GT(Count("cluster_name = 'ams-ha-controller' AND app = 'ams-ha-controller'"), 0);
  auto services = admin_->Scalar(
      "SELECT string_agg(service_name, ',' ORDER BY service_name) FROM ha_lease"
      " WHERE cluster_name = 'prod'");
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(*services, "AMS") << "no service rows published, no switchover rows";
  std::string logs = cluster_->Logs();
  EXPECT_NE(logs.find("reason=lease_expired"), std::string::npos) << "failovers are announced";
}

TEST_F(FollowModeE2eTest, AHolderThatIsNoPodIsReportedAndNotRoutedAndSwitchoverIsRefused) {
  auto session = SqlSession::Open(
      ComposeConnInfo(cluster_->postgres().url(), cluster_->postgres().password(), seconds(5)));
  ASSERT_TRUE(session.ok());
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

}  // namespace
}  // namespace amsha::testing
