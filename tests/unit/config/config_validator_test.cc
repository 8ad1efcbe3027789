#include "config/config_validator.h"

#include <gtest/gtest.h>

#include <functional>

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Config Valid() {
  Config c;
  c.file = "c.yaml";
  c.database.url = "postgresql://db/amoro";
  c.controller.identity = "ctl-0";
  ClusterConfig cl;
  cl.name = "prod";
  cl.pod_selector = "app=amoro";
  c.clusters.push_back(cl);
  return c;
}

TEST(ConfigValidatorTest, TheDefaultsAreValid) { EXPECT_TRUE(ValidateConfig(Valid()).empty()); }

// A manage-mode cluster documenting AMS's settings as the example does.
AmsSettings& ManageAms(Config& c) {
  AmsSettings& ams = c.clusters[0].ams;
  ams.present = true;
  ams.ha_enabled = false;
  ams.ha_cluster_name = "prod";
  ams.ha_master_slave = false;
  ams.table_port = 1260;
  ams.optimizing_port = 1261;
  ams.rest_port = 1630;
  return ams;
}

// A follow-mode cluster running Amoro's own database HA.
AmsSettings& FollowAms(Config& c) {
  c.clusters[0].mode = ClusterMode::kFollow;
  AmsSettings& ams = c.clusters[0].ams;
  ams.present = true;
  ams.ha_enabled = true;
  ams.ha_type = "database";
  ams.ha_cluster_name = "prod";
  ams.ha_lease_ttl = seconds(30);
  ams.ha_heartbeat = seconds(10);
  return ams;
}

TEST(ConfigValidatorTest, AmsSettingsThatMatchTheModeAreValid) {
  Config manage = Valid();
  ManageAms(manage);
  EXPECT_TRUE(ValidateConfig(manage).empty()) << ValidateConfig(manage)[0];
  Config follow = Valid();
  FollowAms(follow);
  EXPECT_TRUE(ValidateConfig(follow).empty()) << ValidateConfig(follow)[0];
  // Without an `ams:` block nothing is assumed about AMS.
  Config bare = Valid();
  bare.clusters[0].mode = ClusterMode::kFollow;
  EXPECT_TRUE(ValidateConfig(bare).empty());
}

TEST(ConfigValidatorTest, AUserNameAndAPasswordWordElsewhereAreNotAPassword) {
  Config c = Valid();
  c.database.url = "postgresql://ams@db/amoro?application_name=password_rotation";
  EXPECT_TRUE(ValidateConfig(c).empty());
  c.database.url = "host=db user=ams dbname=passwords";
  EXPECT_TRUE(ValidateConfig(c).empty());
  c.database.tls.ca_file = "/tls/ca.crt";
  c.database.tls.cert_file = "/tls/tls.crt";
  c.database.tls.key_file = "/tls/tls.key";
  EXPECT_TRUE(ValidateConfig(c).empty());
}

struct Case {
  const char* name;
  std::function<void(Config&)> change;
  const char* expected;
};

class ConfigValidatorTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigValidatorTest, RejectsWithOneLine) {
  Config c = Valid();
  GetParam().change(c);
  auto problems = ValidateConfig(c);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  ASSERT_EQ(problems.size(), 1u) << all;
  EXPECT_NE(problems[0].find(GetParam().expected), std::string::npos) << problems[0];
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigValidatorTest,
    ::testing::Values(
        Case{"PasswordInTheUriUserInfo",
             [](Config& c) { c.database.url = "postgresql://ams:s3cret@db/amoro"; },
             "database.url: contains a password after the user name (user:password@); the URL "
             "is stored in plain text (a ConfigMap): put the password in the file named by "
             "database.passwordFile (the chart mounts database.existingSecret there) or in the "
             "environment variable AMS_HA_DB_PASSWORD"},
        Case{"PasswordInAMysqlUrl", [](Config& c) { c.database.url = "mysql://ams:pw@db/amoro"; },
             "database.url: contains a password after the user name (user:password@)"},
        Case{"PasswordAsAUriParameter",
             [](Config& c) { c.database.url = "postgresql://db/amoro?sslmode=require&password=x"; },
             "database.url: contains a password= query parameter"},
        Case{"PasswordAsAKeyword",
             [](Config& c) { c.database.url = "host=db dbname=amoro password = 'x'"; },
             "database.url: contains a password= keyword"},
        Case{"UnknownSslMode", [](Config& c) { c.database.tls.mode = "verify"; },
             "database.tls.mode: \"verify\" is not an sslmode"},
        Case{"VerifyFullWithoutACa", [](Config& c) { c.database.tls.mode = "verify-full"; },
             "database.tls.caFile: is required with mode verify-full"},
        Case{"ClientCertificateWithoutKey",
             [](Config& c) {
               c.database.tls.ca_file = "/tls/ca.crt";
               c.database.tls.cert_file = "/tls/tls.crt";
             },
             "database.tls.keyFile: client certificate and key go together"},
        Case{"RenewDeadlineNotShorterThanLeaseDuration",
             [](Config& c) { c.controller.renew_deadline = seconds(15); },
             "controller.renewDeadline: (15s) must be shorter than controller.leaseDuration (15s)"},
        Case{"RenewDeadlineWithinJitterOfRetryPeriod",
             [](Config& c) {
               c.controller.retry_period = milliseconds(8500);
               c.clusters[0].lease_ttl = seconds(60);
             },
             "must be longer than 1.2 x controller.retryPeriod (8s500ms)"},
        Case{"AStartAllowanceShorterThanAPredecessorsStopCannotSettle",
             [](Config& c) { c.clusters[0].probe.startup_grace_period = seconds(39); },
             "clusters[0].probe.startupGracePeriod: (39s) must be longer than "
             "gate.stopGracePeriod + gate.rowTtl + gate.safetyMargin (39s)"},
        Case{"NoStartAllowanceAtAllCannotSettle",
             [](Config& c) { c.clusters[0].probe.startup_grace_period = seconds(0); },
             "would be failed over before it could serve (the cluster would never settle)"},
        Case{"LeaseTtlTooShortForATakeover",
             [](Config& c) { c.clusters[0].lease_ttl = seconds(27); },
             "clusters[0].leaseTtl: (27s) must be longer than controller.leaseDuration + "
             "controller.retryPeriod + heartbeatInterval (27s)"},
        Case{"ZeroHeartbeat", [](Config& c) { c.clusters[0].heartbeat_interval = seconds(0); },
             "clusters[0].heartbeatInterval: (0s) must be positive"},
        Case{"BadSelector", [](Config& c) { c.clusters[0].pod_selector = "app in (x"; },
             "clusters[0].podSelector: label selector \"app in (x\": missing ')'"},
        Case{"EmptySelector", [](Config& c) { c.clusters[0].pod_selector = ""; },
             "clusters[0].podSelector: must not be empty"},
        Case{"ClusterNameNotALabelValue", [](Config& c) { c.clusters[0].name = "prod cluster"; },
             "clusters[0].name: \"prod cluster\" must be 1-63 characters"},
        Case{"BadServiceName", [](Config& c) { c.clusters[0].service = "AMS_Leader"; },
             "clusters[0].service: \"AMS_Leader\" is not a valid Service name"},
        Case{"DuplicateCluster",
             [](Config& c) {
               c.clusters.push_back(c.clusters[0]);
               c.clusters[1].service = "other";
             },
             "clusters[1].name: \"prod\" is listed twice"},
        Case{"PortOutOfRange", [](Config& c) { c.clusters[0].ports.rest = 70000; },
             "clusters[0].ports.rest: 70000 is not a TCP port"},
        Case{"ProbeTimeoutLongerThanPeriod",
             [](Config& c) { c.clusters[0].probe.timeout = seconds(5); },
             "clusters[0].probe.timeout: (5s) must be positive and at most probe.period (2s)"},
        Case{"ZeroFailureThreshold", [](Config& c) { c.clusters[0].probe.failure_threshold = 0; },
             "clusters[0].probe.failureThreshold: must be at least 1"},
        Case{"BadRoleKey", [](Config& c) { c.labels.role = "Bad Key"; },
             "labels.role: \"Bad Key\" is not a valid label key"},
        Case{"SameLeaderAndFollowerValues", [](Config& c) { c.labels.follower = "leader"; },
             "labels.follower: must differ from labels.leader"},
        Case{"BadMetricsAddress", [](Config& c) { c.metrics.address = "9464"; },
             "metrics.address: \"9464\" must be host:port"},
        Case{"NoDatabaseUrl", [](Config& c) { c.database.url = ""; }, "database.url: must name"},
        Case{"UnknownDatabaseScheme", [](Config& c) { c.database.url = "sqlite://x"; },
             "database.url: \"sqlite://\" is not a database scheme: use postgresql://, mysql:// "
             "or mariadb://"},
        Case{"MalformedMysqlUrl", [](Config& c) { c.database.url = "mysql://db/amoro"; },
             "database.url: is not a valid mysql:// URL: no user before '@'"},
        Case{"OneDatabaseConnectionCannotServeTheControllerAndTheClusters",
             [](Config& c) { c.database.max_connections = 2; },
             "database.maxConnections: (2) must be between 3 and 64"},
        Case{"NoClusterWorkers", [](Config& c) { c.controller.workers = 0; },
             "controller.workers: (0) must be between 1 and 64"},
        Case{"NoProbeWorkers", [](Config& c) { c.controller.probe_workers = 0; },
             "controller.probeWorkers: (0) must be between 1 and 256"},
        Case{"StatementTimeoutNotShorterThanRenewDeadline",
             [](Config& c) { c.database.statement_timeout = seconds(10); },
             "database.statementTimeout: (10s) must be shorter than controller.renewDeadline"},
        Case{"GraceLongerThanTheLeaseOutlivesARenewal",
             [](Config& c) { c.clusters[0].not_ready_grace_period = seconds(20); },
             "clusters[0].notReadyGracePeriod: (20s) must be shorter than leaseTtl - "
             "heartbeatInterval (20s)"},
        Case{"NoClusters", [](Config& c) { c.clusters.clear(); },
             "clusters: must list at least one AMS cluster"},
        Case{"ZeroGatePollInterval", [](Config& c) { c.gate.poll_interval = seconds(0); },
             "gate.pollInterval: must be positive"},
        Case{"ZeroGateRenewInterval", [](Config& c) { c.gate.renew_interval = seconds(0); },
             "gate.renewInterval: must be positive"},
        Case{"GateRowTooShortForADatabaseRestart", [](Config& c) { c.gate.row_ttl = seconds(6); },
             "gate.rowTtl: (6s) must be at least gate.safetyMargin (1s) + gate.renewInterval (1s) "
             "+ 5s, so that a database restart that short never stops AMS"},
        Case{"GateMarginEatsTheDatabaseRestart",
             [](Config& c) { c.gate.safety_margin = seconds(3); },
             "gate.rowTtl: (8s) must be at least gate.safetyMargin (3s) + gate.renewInterval (1s) "
             "+ 5s, so that a database restart that short never stops AMS"},
        Case{"GateReadinessPortOutOfRange", [](Config& c) { c.gate.readiness_port = 65536; },
             "gate.readinessPort: 65536 is not a TCP port (1-65535, or 0 for none)"},
        Case{"GateReadinessPortIsAnAmsPort", [](Config& c) { c.gate.readiness_port = 1630; },
             "gate.readinessPort: (1630) must differ from clusters[0].ports.rest"},
        Case{"GateWouldFenceALeaderBetweenTwoReads",
             [](Config& c) {
               c.gate.safety_margin = seconds(10);
               c.gate.poll_interval = seconds(10);
               c.gate.row_ttl = seconds(20);
             },
             "gate.safetyMargin: (10s) + gate.pollInterval (10s) must be shorter than "
             "clusters[0].leaseTtl - heartbeatInterval (20s)"},
        Case{"ClockSkewMarginAsLongAsTheLease",
             [](Config& c) { c.clusters[0].clock_skew_margin = seconds(30); },
             "clusters[0].clockSkewMargin: (30s) must be at least 0s and shorter than leaseTtl "
             "(30s)"},
        // The documented AMS settings (`ams:`) against the mode.
        Case{"ManageModeWithAmorosOwnHa", [](Config& c) { ManageAms(c).ha_enabled = true; },
             "clusters[0].ams.ha.enabled: true contradicts mode: manage"},
        Case{"MasterSlaveModeUnderTheGate", [](Config& c) { ManageAms(c).ha_master_slave = true; },
             "clusters[0].ams.ha.use-master-slave-mode: true is not supported"},
        Case{"MasterSlaveModeInFollowMode", [](Config& c) { FollowAms(c).ha_master_slave = true; },
             "clusters[0].ams.ha.use-master-slave-mode: true is not supported"},
        Case{"FollowModeWithAmorosHaOff", [](Config& c) { FollowAms(c).ha_enabled = false; },
             "clusters[0].ams.ha.enabled: false contradicts mode: follow"},
        Case{"FollowModeWithAmorosHaLeftAtItsDefault",
             [](Config& c) { FollowAms(c).ha_enabled.reset(); },
             "clusters[0].ams.ha.enabled: unset (Amoro's default false) contradicts mode: follow"},
        Case{"FollowModeWithZooKeeperHa", [](Config& c) { FollowAms(c).ha_type.reset(); },
             "clusters[0].ams.ha.type: \"zk\" (Amoro's default) contradicts mode: follow"},
        Case{"AnotherClusterName", [](Config& c) { ManageAms(c).ha_cluster_name = "amoro"; },
             "clusters[0].ams.ha.cluster-name: \"amoro\" must equal the cluster's name \"prod\""},
        Case{"FollowModeWithAmorosDefaultClusterName",
             [](Config& c) { FollowAms(c).ha_cluster_name.reset(); },
             "clusters[0].ams.ha.cluster-name: \"default\" (Amoro's default) must equal"},
        Case{"FollowModeWithAnotherLeaseTtl",
             [](Config& c) { FollowAms(c).ha_lease_ttl = seconds(60); },
             "clusters[0].ams.ha.lease-ttl: (1m) must equal clusters[0].leaseTtl (30s)"},
        Case{"FollowModeWithAnotherHeartbeat",
             [](Config& c) { FollowAms(c).ha_heartbeat = seconds(5); },
             "clusters[0].ams.ha.heartbeat-interval: (5s) must equal "
             "clusters[0].heartbeatInterval (10s)"},
        Case{"AnAmsRestPortTheProbeDoesNotKnow", [](Config& c) { ManageAms(c).rest_port = 19090; },
             "clusters[0].ams.http-server.bind-port: (19090) must equal clusters[0].ports.rest "
             "(1630)"}),
    [](const auto& info) { return info.param.name; });

TEST(ConfigValidatorTest, FollowModeSkipsTheRulesForLeasesTheControllerRenews) {
  Config c = Valid();
  c.clusters[0].mode = ClusterMode::kFollow;
  // Amoro's own timing, shorter than a controller takeover.
  c.clusters[0].lease_ttl = seconds(3);
  c.clusters[0].heartbeat_interval = seconds(1);
  EXPECT_TRUE(ValidateConfig(c).empty());
  c.clusters[0].mode = ClusterMode::kManage;
  EXPECT_FALSE(ValidateConfig(c).empty());
}

TEST(ConfigValidatorTest, ProblemsPointAtTheLineWhereTheKeyWasWritten) {
  Config c = Valid();
  c.controller.renew_deadline = seconds(20);
  c.marks["controller.renewDeadline"] = YamlMark{"c.yaml", 7, 3};
  auto problems = ValidateConfig(c);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("c.yaml:7:3: controller.renewDeadline:", 0), 0u) << problems[0];
}

TEST(ConfigValidatorTest, ServiceNamesAreDns1035Labels) {
  EXPECT_TRUE(IsDns1035Label("ams-leader"));
  EXPECT_FALSE(IsDns1035Label("1ams"));
  EXPECT_FALSE(IsDns1035Label("ams-"));
  EXPECT_FALSE(IsDns1035Label(std::string(64, 'a')));
}

}  // namespace
}  // namespace amsha
