// The credentials chain: explicit config, environment, shared file + profile.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "sink/aws/credentials.h"
#include "testing/test_util.h"

namespace heliosdb::cdc::aws {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CredentialsTest, ExplicitConfigWinsOverEnvironment) {
  auto c = resolve_credentials(
      {"AKIDCONF", "confsecret", "tok", ""},
      fake_env({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}}));
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->access_key_id.value, "AKIDCONF");
  EXPECT_EQ(c->session_token.value, "tok");
  EXPECT_EQ(c->source, "configuration");
}

TEST(CredentialsTest, EnvironmentWithSessionToken) {
  auto c = resolve_credentials({}, fake_env({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                             {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                             {"AWS_SESSION_TOKEN", "envtoken"}}));
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->access_key_id.value, "AKIDENV");
  EXPECT_EQ(c->secret_access_key.value, "envsecret");
  EXPECT_EQ(c->session_token.value, "envtoken");
  EXPECT_EQ(c->source, "environment");
}

TEST(CredentialsTest, HalfSetEnvironmentIsAnError) {
  auto c = resolve_credentials({}, fake_env({{"AWS_ACCESS_KEY_ID", "AKIDENV"}}));
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST(CredentialsTest, SharedFileProfileFromAwsProfile) {
  testing::TempDir dir;
  testing::write_file(dir.file("credentials"),
                      "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = defsecret\n"
                      "\n[prod]\naws_access_key_id=AKIDPROD\naws_secret_access_key=prodsecret\n"
                      "aws_session_token = prodtoken\n");
  auto env =
      fake_env({{"AWS_SHARED_CREDENTIALS_FILE", dir.file("credentials")}, {"AWS_PROFILE", "prod"}});
  auto c = resolve_credentials({}, env);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->access_key_id.value, "AKIDPROD");
  EXPECT_EQ(c->session_token.value, "prodtoken");
  EXPECT_NE(c->source.find("profile 'prod'"), std::string::npos);
  // Default profile without AWS_PROFILE; an explicit profile option beats AWS_PROFILE.
  auto d =
      resolve_credentials({}, fake_env({{"AWS_SHARED_CREDENTIALS_FILE", dir.file("credentials")}}));
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->access_key_id.value, "AKIDDEF");
  auto e = resolve_credentials({"", "", "", "default"}, env);
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->access_key_id.value, "AKIDDEF");
}

TEST(CredentialsTest, HomeDirectoryCredentialsFile) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/.aws");
  testing::write_file(dir.path() + "/.aws/credentials",
                      "[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n");
  auto c = resolve_credentials({}, fake_env({{"HOME", dir.path()}}));
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->access_key_id.value, "AKIDHOME");
}

TEST(CredentialsTest, NoCredentialsSaysWhatWasTriedAndWhatIsUnsupported) {
  testing::TempDir dir;
  auto c = resolve_credentials({}, fake_env({{"HOME", dir.path()}}));
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kPermissionDenied);
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("no AWS credentials found"), std::string::npos) << m;
  EXPECT_NE(m.find("AWS_ACCESS_KEY_ID"), std::string::npos) << m;
  EXPECT_NE(m.find(dir.path() + "/.aws/credentials (not found)"), std::string::npos) << m;
  EXPECT_NE(m.find("Instance metadata"), std::string::npos) << m;
}

TEST(CredentialsTest, MissingProfileAndUnsupportedProfile) {
  testing::TempDir dir;
  testing::write_file(dir.file("c"),
                      "[default]\naws_access_key_id = A\naws_secret_access_key = S\n"
                      "[role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  auto missing = resolve_credentials(
      {}, fake_env({{"AWS_SHARED_CREDENTIALS_FILE", dir.file("c")}, {"AWS_PROFILE", "nope"}}));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("no profile 'nope'"), std::string::npos);
  auto role = resolve_credentials(
      {}, fake_env({{"AWS_SHARED_CREDENTIALS_FILE", dir.file("c")}, {"AWS_PROFILE", "role"}}));
  ASSERT_FALSE(role.is_ok());
  EXPECT_NE(role.status().message().find("not supported"), std::string::npos);
}

TEST(CredentialsTest, SecretsNeverInErrorMessages) {
  auto c = resolve_credentials({"", "topsecretvalue", "", ""}, fake_env({}));
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().message().find("topsecretvalue"), std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc::aws
