#include "metrics/observability_server.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "support/standin_process.h"

namespace amsha {
namespace {

using std::chrono::seconds;

class ObservabilityServerTest : public ::testing::Test {
 protected:
  ObservabilityServerTest() : metrics_(MetricsOptions()), health_(&clock_, seconds(60)) {
    health_.AddLoop("cluster prod", [this] { return last_pass_; });
    health_.AddCondition("database", [this] { return database_.Problem(); });
  }
  PrometheusMetrics::Options MetricsOptions() {
    PrometheusMetrics::Options options;
    options.version = "9.9.9";
    options.identity = "ctl-0";
    options.clusters = {"prod"};
    options.clock = &clock_;
    return options;
  }
  HttpResponse Handle(const std::string& path) {
    return ObservabilityServer::Handle({"GET", path}, &metrics_, &health_);
  }

  FakeClock clock_;
  PrometheusMetrics metrics_;
  HealthChecks health_;
  MonoTime last_pass_ = clock_.Now();
  ConditionCell database_{"not reached yet"};
};

TEST_F(ObservabilityServerTest, MetricsAreTheTextExposition) {
  HttpResponse r = Handle("/metrics");
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("ams_ha_build_info{version=\"9.9.9\"} 1"), std::string::npos) << r.body;
}

TEST_F(ObservabilityServerTest, HealthzIs200WhileTheLoopsTurnAnd503WhenOneStalls) {
  HttpResponse r = Handle("/healthz");
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body, "ok: 1 loop turning\n");
  clock_.Advance(seconds(61));
  r = Handle("/healthz");
  EXPECT_EQ(r.code, 503);
  EXPECT_EQ(r.body, "stalled: cluster prod last pass 61s ago (bound 60s)\n");
}

TEST_F(ObservabilityServerTest, ReadyzIs503UntilTheDatabaseIsReached) {
  HttpResponse r = Handle("/readyz");
  EXPECT_EQ(r.code, 503);
  EXPECT_EQ(r.body, "not ready: database: not reached yet\n");
  database_.Set("");
  r = Handle("/readyz");
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body, "ready: database\n");
}

TEST_F(ObservabilityServerTest, UnknownPathsAre404AndNameTheKnownOnes) {
  HttpResponse r = Handle("/metrics/");
  EXPECT_EQ(r.code, 404);
  EXPECT_NE(r.body.find("/healthz"), std::string::npos);
}

TEST_F(ObservabilityServerTest, ServesTheThreePathsOverHttp) {
  auto server = ObservabilityServer::Start("127.0.0.1:0", &metrics_, &health_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  int port = (*server)->port();
  auto metrics = testing::PlainHttp(port, "GET", "/metrics", "");
  EXPECT_EQ(metrics.code, 200);
  EXPECT_NE(metrics.body.find("# HELP ams_ha_failovers_total"), std::string::npos);
  auto ready = testing::PlainHttp(port, "GET", "/readyz", "");
  EXPECT_EQ(ready.code, 503);
  EXPECT_EQ(ready.body, "not ready: database: not reached yet\n");
  auto live = testing::PlainHttp(port, "GET", "/healthz", "");
  EXPECT_EQ(live.code, 200);
}

}  // namespace
}  // namespace amsha
