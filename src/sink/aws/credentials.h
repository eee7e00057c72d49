// Where AWS credentials come from, in order:
//   1. explicit configuration (access_key_id + secret_access_key [+ session_token]),
//   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//   3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
//      ~/.aws/credentials), profile from the configuration, else AWS_PROFILE,
//      else "default".
// Not supported (fails with a message saying so): EC2/ECS instance metadata,
// web identity tokens, SSO, credential_process, assume-role profiles.
//
// Secrets are never logged or put into error messages.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "heliosdb/cdc/status.h"
#include "sink/aws/sigv4.h"

namespace heliosdb::cdc::aws {

struct ExplicitCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string profile;  // shared-file profile; empty: AWS_PROFILE or "default"
};

// Reads an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_env();

// Resolves credentials with the chain above. kPermissionDenied with a message
// listing what was tried when none are found; kInvalidArgument for a half
// configured source (key id without secret).
Result<Credentials> resolve_credentials(const ExplicitCredentials& explicit_creds,
                                        const EnvLookup& env = process_env());

}  // namespace heliosdb::cdc::aws
