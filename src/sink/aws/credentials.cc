#include "sink/aws/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace heliosdb::cdc::aws {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

struct ProfileRead {
  bool file_exists = false;
  bool profile_found = false;
  std::string access_key_id, secret_access_key, session_token;
  bool has_unsupported = false;  // role_arn, credential_process, sso_*, web_identity
};

ProfileRead read_profile(const std::string& path, const std::string& profile) {
  ProfileRead r;
  std::ifstream in(path);
  if (!in) return r;
  r.file_exists = true;
  std::string line;
  bool in_profile = false;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      std::string name = trim(t.substr(1, t.size() - 2));
      // The credentials file uses "[name]"; accept "[profile name]" too.
      if (name.rfind("profile ", 0) == 0) name = trim(name.substr(8));
      in_profile = name == profile;
      if (in_profile) r.profile_found = true;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = lower(trim(t.substr(0, eq)));
    std::string value = trim(t.substr(eq + 1));
    if (key == "aws_access_key_id")
      r.access_key_id = value;
    else if (key == "aws_secret_access_key")
      r.secret_access_key = value;
    else if (key == "aws_session_token")
      r.session_token = value;
    else if (key == "role_arn" || key == "credential_process" || key.rfind("sso_", 0) == 0 ||
             key == "web_identity_token_file")
      r.has_unsupported = true;
  }
  return r;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<Credentials> resolve_credentials(const ExplicitCredentials& ex, const EnvLookup& env) {
  auto get = [&](const char* name) -> std::string {
    auto v = env(name);
    return v ? *v : std::string();
  };

  // 1. Explicit configuration.
  if (!ex.access_key_id.empty() || !ex.secret_access_key.empty()) {
    if (ex.access_key_id.empty() || ex.secret_access_key.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "AWS credentials: access_key_id and secret_access_key must be set together");
    }
    return Credentials{AccessKeyId{ex.access_key_id}, SecretAccessKey{ex.secret_access_key},
                       SessionToken{ex.session_token}, "configuration"};
  }

  // 2. Environment.
  std::string env_id = get("AWS_ACCESS_KEY_ID");
  std::string env_secret = get("AWS_SECRET_ACCESS_KEY");
  if (!env_id.empty() || !env_secret.empty()) {
    if (env_id.empty() || env_secret.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
                    "together (only one of them is set in the environment)");
    }
    return Credentials{AccessKeyId{env_id}, SecretAccessKey{env_secret},
                       SessionToken{get("AWS_SESSION_TOKEN")}, "environment"};
  }

  // 3. Shared credentials file.
  std::string path = get("AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty()) {
    std::string home = get("HOME");
    if (!home.empty()) path = home + "/.aws/credentials";
  }
  std::string profile = !ex.profile.empty() ? ex.profile : get("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string tried_file = path.empty() ? "no shared credentials file (HOME is not set)"
                                        : "shared credentials file " + path;
  if (!path.empty()) {
    ProfileRead r = read_profile(path, profile);
    if (r.profile_found) {
      if (!r.access_key_id.empty() && !r.secret_access_key.empty()) {
        return Credentials{AccessKeyId{r.access_key_id}, SecretAccessKey{r.secret_access_key},
                           SessionToken{r.session_token}, "profile '" + profile + "' in " + path};
      }
      if (r.has_unsupported) {
        return Status(ErrorCode::kPermissionDenied,
                      "AWS credentials: profile '" + profile + "' in " + path +
                          " uses role_arn, credential_process, SSO or web identity, which are "
                          "not supported; give aws_access_key_id and aws_secret_access_key");
      }
      return Status(ErrorCode::kPermissionDenied,
                    "AWS credentials: profile '" + profile + "' in " + path +
                        " lacks aws_access_key_id or aws_secret_access_key");
    }
    if (r.file_exists)
      tried_file += " (no profile '" + profile + "')";
    else
      tried_file += " (not found)";
  }
  return Status(ErrorCode::kPermissionDenied,
                "no AWS credentials found: tried [sink.kinesis] access_key_id/secret_access_key, "
                "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), and " +
                    tried_file +
                    ". Instance metadata, web identity and SSO credentials are not supported");
}

}  // namespace heliosdb::cdc::aws
