#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <map>

namespace amsha {
namespace {

constexpr char kMinimal[] = R"(database:
  url: postgresql://ams@db:5432/amoro
clusters:
  - name: prod
    podSelector: app.kubernetes.io/name=amoro
)";

ConfigEnv FakeEnv(std::map<std::string, std::string> vars = {},
                  std::map<std::string, std::string> files = {}) {
  ConfigEnv env;
  env.getenv = [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.hostname = [] { return std::string("host-1"); };
  env.read_file = [files](const std::string& p) -> std::optional<std::string> {
    auto it = files.find(p);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  return env;
}

TEST(ConfigLoaderTest, MinimalConfigGetsTheDocumentedDefaults) {
  auto c = LoadConfigFromString(kMinimal, "c.yaml", FakeEnv());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->controller.lease_duration, std::chrono::seconds(15));
  EXPECT_EQ(c->controller.renew_deadline, std::chrono::seconds(10));
  EXPECT_EQ(c->controller.retry_period, std::chrono::seconds(2));
  EXPECT_EQ(c->metrics.address, "0.0.0.0:9464");
  EXPECT_EQ(c->labels.role, "amoro.apache.org/ha-role");
  ASSERT_EQ(c->clusters.size(), 1u);
  const ClusterConfig& cl = c->clusters[0];
  EXPECT_EQ(cl.service, "ams-leader");
  EXPECT_EQ(cl.ports.table, 1260);
  EXPECT_EQ(cl.ports.optimizing, 1261);
  EXPECT_EQ(cl.ports.rest, 1630);
  EXPECT_EQ(cl.lease_ttl, std::chrono::seconds(30));
  EXPECT_EQ(cl.heartbeat_interval, std::chrono::seconds(10));
  EXPECT_TRUE(cl.probe.enabled);
  EXPECT_EQ(c->database.max_connections, 4);
  EXPECT_EQ(c->controller.workers, 4);
  EXPECT_EQ(c->controller.probe_workers, 8);
}

TEST(ConfigLoaderTest, ReadsTheConnectionAndThreadBudgets) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("clusters:"),
              "  maxConnections: 6\ncontroller:\n  workers: 2\n  probeWorkers: 16\n");
  auto c = LoadConfigFromString(yaml, "c.yaml", FakeEnv());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->database.max_connections, 6);
  EXPECT_EQ(c->controller.workers, 2);
  EXPECT_EQ(c->controller.probe_workers, 16);
}

TEST(ConfigLoaderTest, IdentityComesFromPodNameThenHostName) {
  EXPECT_EQ(
      LoadConfigFromString(kMinimal, "c", FakeEnv({{"POD_NAME", "ctl-0"}}))->controller.identity,
      "ctl-0");
  EXPECT_EQ(LoadConfigFromString(kMinimal, "c", FakeEnv())->controller.identity, "host-1");
}

TEST(ConfigLoaderTest, DatabaseTlsFilesAreRead) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("clusters:"),
              "  tls:\n    mode: verify-ca\n    caFile: /tls/ca.crt\n    certFile: /tls/tls.crt\n"
              "    keyFile: /tls/tls.key\n");
  auto c = LoadConfigFromString(yaml, "c.yaml", FakeEnv());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->database.tls.mode, "verify-ca");
  EXPECT_EQ(c->database.tls.ca_file, "/tls/ca.crt");
  EXPECT_EQ(c->database.tls.cert_file, "/tls/tls.crt");
  EXPECT_EQ(c->database.tls.key_file, "/tls/tls.key");
}

TEST(ConfigLoaderTest, AnUnknownTlsKeyIsNamed) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("clusters:"), "  tls:\n    rootCert: /tls/ca.crt\n");
  auto c = LoadConfigFromString(yaml, "c.yaml", FakeEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(
      c.status().message().find(
          "database.tls.rootCert: unknown key; expected one of mode, caFile, certFile, keyFile"),
      std::string::npos)
      << c.status().message();
}

TEST(ConfigLoaderTest, PasswordComesFromTheFileBeforeTheEnvironment) {
  std::string yaml = std::string(kMinimal) + "";
  yaml.insert(yaml.find("clusters:"), "  passwordFile: /secret/pw\n");
  auto c = LoadConfigFromString(
      yaml, "c", FakeEnv({{"AMS_HA_DB_PASSWORD", "env"}}, {{"/secret/pw", "file\n"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->database.password, "file");
  EXPECT_EQ(LoadConfigFromString(kMinimal, "c", FakeEnv({{"AMS_HA_DB_PASSWORD", "env"}}))
                ->database.password,
            "env");
}

TEST(ConfigLoaderTest, AnUnreadablePasswordFileIsAnErrorThatDoesNotShowThePassword) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("clusters:"), "  passwordFile: /secret/pw\n");
  auto c = LoadConfigFromString(yaml, "c.yaml", FakeEnv({{"AMS_HA_DB_PASSWORD", "hunter2"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("c.yaml:3:3: database.passwordFile: cannot read"),
            std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* expected;  // a substring of the one-line error
};

class ConfigLoaderRejectsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigLoaderRejectsTest, WithOneLineNamingFileLineKeyAndExpectation) {
  auto c = LoadConfigFromString(GetParam().yaml, "c.yaml", FakeEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(GetParam().expected), std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find('\n'), std::string::npos) << "one line per problem";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigLoaderRejectsTest,
    ::testing::Values(
        BadCase{"InvalidYaml", "database: [url\n", "c.yaml:"},
        BadCase{"UnknownTopLevelKey", "database: {url: x}\nclusters: []\ncluster: []\n",
                "c.yaml:3:1: cluster: unknown key; expected one of kubernetes, database"},
        BadCase{"UnknownNestedKey",
                "database: {url: x}\ncontroller:\n  leaseDurations: 15s\nclusters: []\n",
                "c.yaml:3:3: controller.leaseDurations: unknown key"},
        BadCase{"WrongDuration",
                "database: {url: x}\ncontroller:\n  leaseDuration: 15\nclusters: []\n",
                "c.yaml:3:18: controller.leaseDuration: expected a duration like 500ms, 10s or "
                "1m, got \"15\""},
        BadCase{"WrongInteger",
                "database: {url: x}\nclusters:\n  - name: a\n    podSelector: a=b\n    ports: "
                "{rest: web}\n",
                "clusters[0].ports.rest: expected an integer, got \"web\""},
        BadCase{"WrongBool",
                "database: {url: x}\nclusters:\n  - name: a\n    podSelector: a=b\n    probe: "
                "{enabled: yes please}\n",
                "clusters[0].probe.enabled: expected true or false"},
        BadCase{"MissingDatabase", "clusters: []\n",
                "database: required key is missing; expected a map with url"},
        BadCase{"MissingUrl", "database: {passwordFile: /x}\nclusters: []\n",
                "c.yaml:1:11: database.url: required key is missing"},
        BadCase{"MissingClusters", "database: {url: x}\n", "clusters: required key is missing"},
        BadCase{"ClusterWithoutSelector", "database: {url: x}\nclusters:\n  - name: a\n",
                "c.yaml:3:5: clusters[0].podSelector: required key is missing"},
        BadCase{"SectionIsNotAMap", "database: postgres\nclusters: []\n",
                "c.yaml:1:11: database: expected a map, got a scalar"},
        BadCase{"UnknownMode",
                "database: {url: x}\nclusters:\n  - name: a\n    podSelector: a=b\n    mode: "
                "watch\n",
                "c.yaml:5:11: clusters[0].mode: expected manage or follow, got \"watch\""},
        BadCase{"UnknownGateKey", "database: {url: x}\ngate:\n  grace: 5s\nclusters: []\n",
                "c.yaml:3:3: gate.grace: unknown key; expected one of stopGracePeriod, "
                "pollInterval, rowTtl, renewInterval, safetyMargin, readinessPort, listen"},
        BadCase{"WrongStartupGrace",
                "database: {url: x}\nclusters:\n  - name: a\n    podSelector: a=b\n    probe: "
                "{startupGracePeriod: 60}\n",
                "clusters[0].probe.startupGracePeriod: expected a duration"}),
    [](const auto& info) { return info.param.name; });

TEST(ConfigLoaderTest, TheGateSectionModeAndStartupGraceHaveTheDocumentedDefaults) {
  auto c = LoadConfigFromString(kMinimal, "c.yaml", FakeEnv());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->gate.stop_grace_period, std::chrono::seconds(30));
  EXPECT_EQ(c->gate.poll_interval, std::chrono::seconds(2));
  EXPECT_EQ(c->gate.safety_margin, std::chrono::seconds(1));
  EXPECT_EQ(c->gate.readiness_port, 1631);
  EXPECT_TRUE(c->gate.listen);
  EXPECT_EQ(c->clusters[0].mode, ClusterMode::kManage);
  EXPECT_EQ(c->clusters[0].probe.startup_grace_period, std::chrono::minutes(5));
}

TEST(ConfigLoaderTest, ReadsTheGateSectionModeAndStartupGrace) {
  auto c = LoadConfigFromString(R"(database:
  url: postgresql://ams@db:5432/amoro
gate:
  stopGracePeriod: 45s
  pollInterval: 500ms
  safetyMargin: 3s
  readinessPort: 8081
  listen: false
clusters:
  - name: prod
    podSelector: app=amoro
    probe:
      startupGracePeriod: 1m30s
  - name: legacy
    podSelector: app=legacy
    service: legacy-leader
    mode: follow
)",
                                "c.yaml", FakeEnv());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->gate.stop_grace_period, std::chrono::seconds(45));
  EXPECT_EQ(c->gate.poll_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c->gate.safety_margin, std::chrono::seconds(3));
  EXPECT_EQ(c->gate.readiness_port, 8081);
  EXPECT_FALSE(c->gate.listen);
  EXPECT_EQ(c->clusters[0].probe.startup_grace_period, std::chrono::seconds(90));
  EXPECT_EQ(c->clusters[0].mode, ClusterMode::kManage);
  EXPECT_EQ(c->clusters[1].mode, ClusterMode::kFollow);
  EXPECT_STREQ(ClusterModeName(c->clusters[1].mode), "follow");
}

TEST(ConfigLoaderTest, ReadsTheClockSkewMarginAndTheAmsBlockInAmorosSpelling) {
  auto c = LoadConfigFromString(std::string(kMinimal) + R"(    mode: follow
    clockSkewMargin: 500ms
    ams:
      ha:
        enabled: true
        type: database
        cluster-name: prod
        lease-ttl: 1min
        heartbeat-interval: 10000
        use-master-slave-mode: false
      thrift-server:
        table-service:
          bind-port: 1260
        optimizing-service:
          bind-port: 1261
      http-server:
        bind-port: 1630
)",
                                "c.yaml", FakeEnv());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ClusterConfig& cl = c->clusters[0];
  EXPECT_EQ(cl.clock_skew_margin, std::chrono::milliseconds(500));
  EXPECT_TRUE(cl.ams.present);
  EXPECT_EQ(cl.ams.ha_enabled, true);
  EXPECT_EQ(cl.ams.ha_type, "database");
  EXPECT_EQ(cl.ams.ha_cluster_name, "prod");
  EXPECT_EQ(cl.ams.ha_lease_ttl, std::chrono::minutes(1));
  EXPECT_EQ(cl.ams.ha_heartbeat, std::chrono::seconds(10)) << "a bare number is ms in Amoro";
  EXPECT_EQ(cl.ams.ha_master_slave, false);
  EXPECT_EQ(cl.ams.table_port, 1260);
  EXPECT_EQ(cl.ams.optimizing_port, 1261);
  EXPECT_EQ(cl.ams.rest_port, 1630);
  auto bare = LoadConfigFromString(kMinimal, "c.yaml", FakeEnv());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->clusters[0].clock_skew_margin, std::chrono::seconds(2)) << "documented default";
  EXPECT_FALSE(bare->clusters[0].ams.present);
  EXPECT_FALSE(bare->clusters[0].ams.ha_enabled.has_value());
}

TEST(ConfigLoaderTest, TheAmsBlockRejectsKeysItDoesNotMirror) {
  auto c = LoadConfigFromString(std::string(kMinimal) + R"(    ams:
      server-expose-host: 10.
      ha:
        lease-ttl: soon
)",
                                "c.yaml", FakeEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "clusters[0].ams.ha.lease-ttl: expected a duration as Amoro writes it"),
            std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("clusters[0].ams.server-expose-host: unknown key; expected "
                                      "one of ha, thrift-server, http-server"),
            std::string::npos)
      << c.status().message();
}

TEST(ConfigLoaderTest, ReportsEveryProblemOnItsOwnLine) {
  auto c = LoadConfigFromString("database: {url: x, user: y}\nclusters: []\nfoo: 1\n", "c.yaml",
                                FakeEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("database.user: unknown key"), std::string::npos);
  EXPECT_NE(c.status().message().find("\nc.yaml:3:1: foo: unknown key"), std::string::npos);
}

TEST(ConfigLoaderTest, MissingFileIsNotFound) {
  auto c = LoadConfig("/nope/c.yaml", FakeEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("/nope/c.yaml"), std::string::npos);
}

}  // namespace
}  // namespace amsha
