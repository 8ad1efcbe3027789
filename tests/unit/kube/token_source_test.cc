#include "kube/token_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "support/test_env.h"

namespace amsha {
namespace {

class TokenSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("token-");
    path_ = dir_ + "/token";
  }
  void TearDown() override {
    std::string out;
    testing::RunCommand("rm -rf '" + dir_ + "'", &out);
  }
  // Rewrites the file the way the kubelet does: a new file renamed over the
  // old one, so the inode changes even within one mtime tick.
  void Rotate(const std::string& token) {
    std::ofstream(path_ + ".new") << token;
    ASSERT_EQ(::rename((path_ + ".new").c_str(), path_.c_str()), 0);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(TokenSourceTest, TheFileWinsOverAFixedTokenWhichIsOnlyTheFallback) {
  TokenSource source("fixed", path_);
  EXPECT_EQ(source.Get(), "fixed");  // no file yet
  Rotate("from-file");
  EXPECT_EQ(source.Get(), "from-file");
  TokenSource fixed_only("fixed", "");
  EXPECT_EQ(fixed_only.Get(), "fixed");
}

TEST_F(TokenSourceTest, TheFileIsReadOnceAndTrailingNewlinesAreDropped) {
  Rotate("abc\n");
  TokenSource source("", path_);
  EXPECT_EQ(source.Get(), "abc");
  EXPECT_EQ(source.Get(), "abc");
  EXPECT_EQ(source.reloads(), 1);
}

TEST_F(TokenSourceTest, ARotatedFileIsPickedUpWithoutRestart) {
  Rotate("old");
  TokenSource source("", path_);
  ASSERT_EQ(source.Get(), "old");
  Rotate("new");
  EXPECT_EQ(source.Get(), "new");
  EXPECT_EQ(source.reloads(), 2);
}

TEST_F(TokenSourceTest, AnInPlaceRewriteIsPickedUpToo) {
  Rotate("first-token");
  TokenSource source("", path_);
  ASSERT_EQ(source.Get(), "first-token");
  std::ofstream(path_, std::ios::trunc) << "second";  // size differs
  EXPECT_EQ(source.Get(), "second");
}

TEST_F(TokenSourceTest, AnUnreadableFileKeepsTheLastGoodToken) {
  Rotate("good");
  TokenSource source("", path_);
  ASSERT_EQ(source.Get(), "good");
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  EXPECT_EQ(source.Get(), "good");
  Rotate("");  // an empty file mid-rotation
  EXPECT_EQ(source.Get(), "good");
  Rotate("better");
  EXPECT_EQ(source.Get(), "better");
}

TEST_F(TokenSourceTest, RefreshReportsWhetherTheTokenChanged) {
  Rotate("one");
  TokenSource source("", path_);
  EXPECT_FALSE(source.Refresh());
  Rotate("two");
  EXPECT_TRUE(source.Refresh());
  EXPECT_EQ(source.Get(), "two");
}

TEST_F(TokenSourceTest, NoTokenAtAllIsEmpty) {
  TokenSource source("", "");
  EXPECT_EQ(source.Get(), "");
  EXPECT_FALSE(source.Refresh());
}

}  // namespace
}  // namespace amsha
