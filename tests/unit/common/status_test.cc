#include "common/status.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ToStringNamesTheCodeAndMessage) {
  EXPECT_EQ(UnavailableError("connection refused").ToString(), "Unavailable: connection refused");
  EXPECT_EQ(ConflictError("lost").ToString(), "Conflict: lost");
}

TEST(StatusTest, OnlyOutagesAreTransient) {
  EXPECT_TRUE(UnavailableError("x").IsTransient());
  EXPECT_TRUE(Status(StatusCode::kGone, "x").IsTransient());
  EXPECT_FALSE(ConflictError("x").IsTransient());
  EXPECT_FALSE(PermissionDeniedError("x").IsTransient());
  EXPECT_FALSE(InvalidArgumentError("x").IsTransient());
}

TEST(StatusOrTest, HoldsAValueOrAnError) {
  StatusOr<int> v = 5;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
  StatusOr<int> e = NotFoundError("nope");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace amsha
