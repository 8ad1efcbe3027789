#include "config/yaml_document.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(YamlDocumentTest, MapsKeepOrderAndMarks) {
  auto doc = ParseYamlString("a: 1\nb:\n  c: x\n", "f.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_TRUE(doc->IsMap());
  ASSERT_EQ(doc->entries().size(), 2u);
  EXPECT_EQ(doc->entries()[0].key, "a");
  EXPECT_EQ(doc->entries()[1].key_mark.ToString(), "f.yaml:2:1");
  const YamlNode* c = doc->Get("b")->Get("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->scalar(), "x");
  EXPECT_EQ(c->mark().ToString(), "f.yaml:3:6");
}

TEST(YamlDocumentTest, QuotedScalarsAreMarkedQuoted) {
  auto doc = ParseYamlString("a: \"true\"\nb: true\n", "f.yaml");
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE(doc->Get("a")->quoted());
  EXPECT_FALSE(doc->Get("b")->quoted());
}

TEST(YamlDocumentTest, SequencesAndNulls) {
  auto doc = ParseYamlString("l:\n  - x\n  - {k: v}\nn: ~\n", "f.yaml");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->Get("l")->IsSequence());
  EXPECT_EQ(doc->Get("l")->items()[1].Get("k")->scalar(), "v");
  EXPECT_TRUE(doc->Get("n")->IsNull());
  EXPECT_EQ(doc->Get("missing"), nullptr);
}

TEST(YamlDocumentTest, InvalidYamlNamesFileLineAndColumn) {
  auto doc = ParseYamlString("a: [1, 2\nb: 3\n", "bad.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("bad.yaml:"), std::string::npos);
  EXPECT_NE(doc.status().message().find("invalid YAML"), std::string::npos);
}

TEST(YamlDocumentTest, MissingFileIsNotFound) {
  auto doc = ParseYamlFile("/nonexistent/config.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace amsha
