#include "lease/lease_notification.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(LeaseNotificationTest, ARowPayloadRoundTrips) {
  LeaseRecord row;
  row.key = {"prod", "AMS_GATE"};
  row.node_id = "ams-0:uid";
  row.server_info_json = R"({"ams":"serving","pod":"ams-0"})";
  row.lease_expire_ts_ms = 1700000008000;
  row.version = 42;
  row.updated_at_ms = 1700000000000;
  row.db_now_ms = 1700000000001;
  auto n = ParseLeaseNotification(LeaseNotificationPayload(row));
  ASSERT_TRUE(n && n->row);
  EXPECT_EQ(n->cluster_name, "prod");
  EXPECT_EQ(n->row->key, row.key);
  EXPECT_EQ(n->row->node_id, row.node_id);
  EXPECT_FALSE(n->row->node_ip.has_value());
  EXPECT_EQ(n->row->server_info_json, row.server_info_json);
  EXPECT_EQ(n->row->lease_expire_ts_ms, row.lease_expire_ts_ms);
  EXPECT_EQ(n->row->version, 42);
  EXPECT_EQ(n->row->updated_at_ms, row.updated_at_ms);
  EXPECT_EQ(n->row->db_now_ms, row.db_now_ms);
}

TEST(LeaseNotificationTest, ABareClusterNameOfAnOlderWriterNamesTheClusterWithoutARow) {
  auto n = ParseLeaseNotification("prod");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->cluster_name, "prod");
  EXPECT_FALSE(n->row);
}

TEST(LeaseNotificationTest, GarbageAndEmptyPayloadsAreIgnored) {
  EXPECT_FALSE(ParseLeaseNotification(""));
  EXPECT_FALSE(ParseLeaseNotification("{not json"));
  EXPECT_FALSE(ParseLeaseNotification(R"({"service":"AMS"})"));
  auto partial = ParseLeaseNotification(R"({"cluster":"prod"})");
  ASSERT_TRUE(partial);
  EXPECT_FALSE(partial->row);
}

}  // namespace
}  // namespace amsha
