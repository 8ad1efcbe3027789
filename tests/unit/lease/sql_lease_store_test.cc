// SqlLeaseStore: the one place that turns an engine's result into a lease
// outcome, checked against a scripted SqlLeaseEngine (no database): a
// condition that did not hold is kConflict with the lease named, engine
// errors pass through unchanged, and bad arguments never reach the engine.
#include "lease/sql_lease_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace amsha {
namespace {

// Answers every write with `row` (or `written`), or `error` when it is set;
// counts calls.
struct ScriptedEngine : SqlLeaseEngine {
  std::optional<LeaseRecord> row;
  bool written = false;
  Status error = Status::Ok();
  int calls = 0;
  const std::string* last_info = nullptr;

  StatusOr<std::optional<LeaseRecord>> Answer() {
    ++calls;
    if (!error.ok()) return error;
    return row;
  }
  StatusOr<bool> Wrote() {
    ++calls;
    if (!error.ok()) return error;
    return written;
  }
  StatusOr<std::optional<LeaseRecord>> ReadRow(const LeaseKey&) override { return Answer(); }
  std::vector<std::string> last_clusters;
  StatusOr<std::vector<LeaseRecord>> ReadClusterRows(
      const std::vector<std::string>& names) override {
    ++calls;
    last_clusters = names;
    if (!error.ok()) return error;
    return row ? std::vector<LeaseRecord>{*row} : std::vector<LeaseRecord>{};
  }
  StatusOr<std::optional<LeaseRecord>> AcquireRow(const LeaseKey&, const LeaseHolder&,
                                                  int64_t) override {
    return Answer();
  }
  StatusOr<std::optional<LeaseRecord>> RenewRow(const LeaseKey&, const std::string&, int32_t,
                                                int64_t, const std::string* info) override {
    last_info = info;
    return Answer();
  }
  StatusOr<std::optional<LeaseRecord>> HandOverRow(const LeaseKey&, const std::string&, int32_t,
                                                   const LeaseHolder&, int64_t) override {
    return Answer();
  }
  StatusOr<bool> ReleaseRow(const LeaseKey&, const std::string&, int32_t) override {
    return Wrote();
  }
  StatusOr<bool> PublishRows(const std::string&, const std::string&, int32_t, const LeaseHolder&,
                             const LeaseHolder&) override {
    return Wrote();
  }
  Status ApplySchema() override {
    ++calls;
    return error;
  }
  void Disconnect() override {}
};

class TestStore : public SqlLeaseStore {
 public:
  explicit TestStore(std::unique_ptr<SqlLeaseEngine> engine) : SqlLeaseStore(std::move(engine)) {}
};

class SqlLeaseStoreTest : public ::testing::Test {
 protected:
  SqlLeaseStoreTest() {
    auto engine = std::make_unique<ScriptedEngine>();
    engine_ = engine.get();
    store_ = std::make_unique<TestStore>(std::move(engine));
  }
  const LeaseKey key_{"prod", kAmsServiceName};
  const LeaseHolder holder_{"a:1261:uuid", "10.0.0.1", "{}"};
  ScriptedEngine* engine_;
  std::unique_ptr<TestStore> store_;
};

TEST_F(SqlLeaseStoreTest, AWriteThatReturnsTheRowSucceedsWithThatRow) {
  LeaseRecord row;
  row.key = key_;
  row.node_id = holder_.node_id;
  row.version = 7;
  engine_->row = row;
  auto acquired = store_->Acquire(key_, holder_, std::chrono::milliseconds(1000));
  ASSERT_TRUE(acquired.ok());
  EXPECT_EQ(acquired->version, 7);
}

TEST_F(SqlLeaseStoreTest, AConditionThatDidNotHoldIsAConflictNamingTheLease) {
  Status acquire = store_->Acquire(key_, holder_, std::chrono::milliseconds(1000)).status();
  EXPECT_EQ(acquire.code(), StatusCode::kConflict);
  EXPECT_EQ(acquire.message(),
            "lease \"AMS\" of cluster \"prod\" is held by another node, unexpired");
  Status renew = store_->Renew(key_, "a", 3, std::chrono::milliseconds(1000)).status();
  EXPECT_EQ(renew.message(),
            "lease \"AMS\" of cluster \"prod\" is not held by \"a\" at version 3, or has expired");
  EXPECT_EQ(
      store_->HandOver(key_, "a", 3, holder_, std::chrono::milliseconds(1)).status().message(),
      "lease \"AMS\" of cluster \"prod\" is not held by \"a\" at version 3");
  EXPECT_EQ(store_->Release(key_, "a", 3).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->PublishServiceInfo("prod", "a", 3, holder_, holder_).message(),
            "lease \"AMS\" of cluster \"prod\" is not held by \"a\" at version 3, or has expired: "
            "service info not published");
}

TEST_F(SqlLeaseStoreTest, EngineErrorsPassThroughUnchanged) {
  engine_->error = UnavailableError("lost the database connection");
  const std::string lost = engine_->error.ToString();
  EXPECT_EQ(store_->Renew(key_, "a", 1, std::chrono::milliseconds(1)).status().ToString(), lost);
  EXPECT_EQ(store_->Release(key_, "a", 1).ToString(), lost);
  engine_->error = FailedPreconditionError("run init-schema");
  const std::string missing = engine_->error.ToString();
  EXPECT_EQ(store_->Read(key_).status().ToString(), missing);
  EXPECT_EQ(store_->ApplySchema().ToString(), missing);
}

TEST_F(SqlLeaseStoreTest, RenewWithInfoHandsTheInfoToTheEngineAndRenewDoesNot) {
  engine_->written = true;
  (void)store_->Renew(key_, "a", 1, std::chrono::milliseconds(1));
  EXPECT_EQ(engine_->last_info, nullptr);
  const std::string info = R"({"ams":"serving"})";
  (void)store_->RenewWithInfo(key_, "a", 1, std::chrono::milliseconds(1), info);
  ASSERT_NE(engine_->last_info, nullptr);
  EXPECT_EQ(*engine_->last_info, info);
}

TEST_F(SqlLeaseStoreTest, BadArgumentsNeverReachTheEngine) {
  EXPECT_EQ(store_->Acquire({"", "AMS"}, holder_, std::chrono::milliseconds(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Acquire(key_, holder_, std::chrono::milliseconds(-1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Acquire(key_, LeaseHolder{}, std::chrono::milliseconds(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store_->HandOver(key_, "a", 1, LeaseHolder{}, std::chrono::milliseconds(1)).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PublishServiceInfo("", "a", 1, holder_, holder_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->calls, 0);
}

TEST(SqlLeaseStoreOptionsTest, BadTableNamesAndTimeoutsAreRejected) {
  LeaseDatabaseOptions options;
  EXPECT_TRUE(SqlLeaseStore::ValidateOptions(options).ok());
  options.table = "ha_lease; DROP TABLE x";
  EXPECT_EQ(SqlLeaseStore::ValidateOptions(options).code(), StatusCode::kInvalidArgument);
  options = LeaseDatabaseOptions{};
  options.statement_timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(SqlLeaseStore::ValidateOptions(options).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace amsha

namespace amsha {
namespace {

TEST_F(SqlLeaseStoreTest, ReadClustersReadsEachNameOnceAndNothingForAnEmptyList) {
  auto none = store_->ReadClusters({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(engine_->calls, 0);
  auto some = store_->ReadClusters({"a", "b", "a"});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(engine_->calls, 1);
  EXPECT_EQ(engine_->last_clusters, (std::vector<std::string>{"a", "b"}));
}

TEST_F(SqlLeaseStoreTest, ReadClustersRefusesAnEmptyClusterName) {
  auto read = store_->ReadClusters({"a", ""});
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->calls, 0);
}

}  // namespace
}  // namespace amsha
