// The schema-registry client against a canned HTTP server (a test double
// that answers each request with the next scripted reply and records what it
// received), and against a closed port. The real registry (Apicurio) is in
// tests/integration/schema_registry_apicurio_test.cc.
#include "serde/schema_registry_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "common/redact.h"
#include "serde/avro_schema.h"
#include "serde/schema_registry_json.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

struct CannedReply {
  int status;
  std::string body;
};

// Test double: an HTTP/1.1 server on an ephemeral loopback port.
class CannedHttpServer {
 public:
  // With `tls` (a server SSL_CTX, owned by the caller) it speaks HTTPS.
  explicit CannedHttpServer(std::vector<CannedReply> replies, SSL_CTX* tls = nullptr)
      : tls_(tls), replies_(std::move(replies)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedHttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }
  int tls_handshake_failures() const { return tls_failures_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      SSL* ssl = nullptr;
      if (tls_) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) != 1) {  // e.g. the client did not trust the certificate
          ++tls_failures_;
          SSL_free(ssl);
          ::close(c);
          continue;
        }
      }
      auto recv_some = [&](char* b, size_t n) -> ssize_t {
        return ssl ? SSL_read(ssl, b, static_cast<int>(n)) : ::recv(c, b, n, 0);
      };
      std::string req;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t want = 0;
      for (;;) {
        ssize_t n = recv_some(buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos) {
          header_end = req.find("\r\n\r\n");
          if (header_end != std::string::npos) {
            size_t cl = req.find("Content-Length: ");
            want = header_end + 4 + (cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16)));
          }
        }
        if (header_end != std::string::npos && req.size() >= want) break;
      }
      CannedReply reply;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        reply = replies_[std::min(next_++, replies_.size() - 1)];
      }
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) +
                        " X\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        "Content-Length: " +
                        std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
      if (ssl) {
        SSL_write(ssl, out.data(), static_cast<int>(out.size()));
        SSL_shutdown(ssl);
        SSL_free(ssl);
      } else {
        ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  SSL_CTX* tls_ = nullptr;
  std::atomic<int> tls_failures_{0};
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<CannedReply> replies_;
  size_t next_ = 0;
  std::vector<std::string> requests_;
};

struct Sleeps {
  std::vector<int64_t> ms;
  std::function<void(std::chrono::milliseconds)> fn() {
    return [this](std::chrono::milliseconds d) { ms.push_back(d.count()); };
  }
};

std::unique_ptr<SchemaRegistryClient> client_for(SchemaRegistryOptions o) {
  auto c = SchemaRegistryClient::create(std::move(o));
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
  return std::move(c).value();
}

TEST(SchemaRegistryClient, RegistersWithTheDocumentedRequest) {
  CannedHttpServer server({{200, R"({"id":7})"}});
  SchemaRegistryOptions o;
  o.url = server.url() + "/apis/ccompat/v7/";
  auto client = client_for(o);
  auto id = client->schema_id("cdc.users-value", avro::cdc_event_schema_json());
  ASSERT_TRUE(id.is_ok()) << id.status().to_string();
  EXPECT_EQ(*id, 7);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(
      reqs[0].rfind("POST /apis/ccompat/v7/subjects/cdc.users-value/versions HTTP/1.1\r\n", 0), 0u)
      << reqs[0];
  EXPECT_NE(reqs[0].find("Content-Type: application/vnd.schemaregistry.v1+json"),
            std::string::npos);
  std::string body = reqs[0].substr(reqs[0].find("\r\n\r\n") + 4);
  EXPECT_EQ(body, schema_registry::registration_body(avro::cdc_event_schema_json()));
  EXPECT_EQ(reqs[0].find("Authorization"), std::string::npos);
}

TEST(SchemaRegistryClient, CachesTheIdPerSubject) {
  CannedHttpServer server({{200, R"({"id":3})"}, {200, R"({"id":4})"}});
  auto client = client_for({.url = server.url()});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(*client->schema_id("a-value", "\"string\""), 3);
    EXPECT_EQ(*client->schema_id("b-value", "\"string\""), 4);
  }
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(client->registrations(), 2u);
}

TEST(SchemaRegistryClient, SendsBasicAuth) {
  CannedHttpServer server({{200, R"({"id":1})"}});
  auto client = client_for({.url = server.url(), .username = "cdc", .password = "pa:ss"});
  ASSERT_TRUE(client->schema_id("s", "\"string\"").is_ok());
  // base64("cdc:pa:ss")
  EXPECT_NE(server.requests()[0].find("Authorization: Basic Y2RjOnBhOnNz\r\n"), std::string::npos)
      << server.requests()[0];
}

TEST(SchemaRegistryClient, EscapesTheSubjectInThePath) {
  CannedHttpServer server({{200, R"({"id":1})"}});
  auto client = client_for({.url = server.url()});
  ASSERT_TRUE(client->schema_id("a b/c-value", "\"string\"").is_ok());
  EXPECT_EQ(server.requests()[0].rfind("POST /subjects/a%20b%2Fc-value/versions ", 0), 0u);
}

TEST(SchemaRegistryClient, IncompatibleSchemaQuotesTheRegistryMessage) {
  CannedHttpServer server(
      {{409,
        R"({"error_code":409,"message":"Schema being registered is incompatible with an earlier schema for subject \"t-value\""})"}});
  auto client = client_for({.url = server.url()});
  auto id = client->schema_id("t-value", avro::cdc_event_schema_json());
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(id.status().retriable());
  const std::string& m = id.status().message();
  EXPECT_NE(m.find("incompatible"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 409"), std::string::npos) << m;
  EXPECT_NE(m.find("Schema being registered is incompatible with an earlier schema for subject "
                   "\"t-value\""),
            std::string::npos)
      << m;
  EXPECT_EQ(server.requests().size(), 1u);  // not retried
}

TEST(SchemaRegistryClient, ServerErrorsAreRetriedWithBackoff) {
  CannedHttpServer server({{503, R"({"message":"starting"})"},
                           {500, "oops"},
                           {429, R"({"message":"slow down"})"},
                           {200, R"({"id":12})"}});
  Sleeps sleeps;
  auto client = client_for({.url = server.url(),
                            .retry_backoff = std::chrono::milliseconds(100),
                            .retry_backoff_max = std::chrono::milliseconds(300),
                            .sleep = sleeps.fn()});
  auto id = client->schema_id("s", "\"string\"");
  ASSERT_TRUE(id.is_ok()) << id.status().to_string();
  EXPECT_EQ(*id, 12);
  EXPECT_EQ(sleeps.ms, (std::vector<int64_t>{100, 200, 300}));
  EXPECT_EQ(client->requests(), 4u);
}

TEST(SchemaRegistryClient, UnreachableRegistryGivesUpWithAClearError) {
  // Port 1 on loopback: connection refused.
  Sleeps sleeps;
  auto client = client_for({.url = "http://user:hidden@127.0.0.1:1",
                            .max_retries = 4,
                            .retry_backoff = std::chrono::milliseconds(250),
                            .retry_backoff_max = std::chrono::milliseconds(1000),
                            .sleep = sleeps.fn()});
  auto id = client->schema_id("t-value", "\"string\"");
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(sleeps.ms, (std::vector<int64_t>{250, 500, 1000, 1000}));
  const std::string& m = id.status().message();
  EXPECT_NE(m.find("schema registry http://***@127.0.0.1:1 (subject \"t-value\") is unavailable "
                   "after 5 attempts"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("unreachable"), std::string::npos) << m;
  EXPECT_EQ(m.find("hidden"), std::string::npos) << "password leaked: " << m;
}

TEST(SchemaRegistryClient, FatalAnswersAreNotRetried) {
  struct Case {
    int status;
    ErrorCode code;
    std::string text;
  };
  for (const Case& c : {Case{401, ErrorCode::kPermissionDenied, "refused the credentials"},
                        Case{403, ErrorCode::kPermissionDenied, "refused the credentials"},
                        Case{422, ErrorCode::kInvalidArgument, "invalid"},
                        Case{404, ErrorCode::kNotFound, "/apis/ccompat/v7"},
                        Case{400, ErrorCode::kFailedPrecondition, "unexpected HTTP 400"}}) {
    CannedHttpServer server({{c.status, R"({"message":"registry says no"})"}});
    Sleeps sleeps;
    auto client = client_for({.url = server.url(), .sleep = sleeps.fn()});
    auto id = client->schema_id("s", "\"string\"");
    ASSERT_FALSE(id.is_ok()) << c.status;
    EXPECT_EQ(id.status().code(), c.code) << c.status;
    EXPECT_NE(id.status().message().find(c.text), std::string::npos) << id.status().message();
    EXPECT_NE(id.status().message().find("registry says no"), std::string::npos);
    EXPECT_TRUE(sleeps.ms.empty());
  }
}

// A test CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
struct TestPki {
  testing::TempDir dir;
  std::string ca() const { return dir.file("ca.pem"); }
  std::string cert() const { return dir.file("server.pem"); }
  std::string key() const { return dir.file("server.key"); }
  bool make() {
    auto run = [](std::vector<std::string> argv) {
      auto r = testing::run_command(argv);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return r.exit_code == 0;
    };
    testing::write_file(dir.file("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    return run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=heliosdb test CA", "-keyout", dir.file("ca.key"), "-out", ca()}) &&
           run({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
                "/CN=127.0.0.1", "-keyout", key(), "-out", dir.file("server.csr")}) &&
           run({"/usr/bin/openssl", "x509", "-req", "-in", dir.file("server.csr"), "-CA", ca(),
                "-CAkey", dir.file("ca.key"), "-CAcreateserial", "-days", "2", "-extfile",
                dir.file("ext.cnf"), "-out", cert()});
  }
};

SSL_CTX* server_tls(const TestPki& pki) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  EXPECT_EQ(SSL_CTX_use_certificate_file(ctx, pki.cert().c_str(), SSL_FILETYPE_PEM), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, pki.key().c_str(), SSL_FILETYPE_PEM), 1);
  return ctx;
}

TEST(SchemaRegistryClient, HttpsWithTheCaFileVerifiesTheServer) {
  TestPki pki;
  ASSERT_TRUE(pki.make());
  SSL_CTX* ctx = server_tls(pki);
  {
    CannedHttpServer server({{200, R"({"id":21})"}}, ctx);
    auto client = client_for({.url = server.url(), .ca_file = pki.ca()});
    auto id = client->schema_id("s", "\"string\"");
    ASSERT_TRUE(id.is_ok()) << id.status().to_string();
    EXPECT_EQ(*id, 21);
    EXPECT_EQ(server.tls_handshake_failures(), 0);
  }
  SSL_CTX_free(ctx);
}

TEST(SchemaRegistryClient, HttpsServerNotSignedByTheCaIsRefusedClearly) {
  TestPki pki, other;
  ASSERT_TRUE(pki.make());
  ASSERT_TRUE(other.make());
  SSL_CTX* ctx = server_tls(pki);
  {
    CannedHttpServer server({{200, R"({"id":21})"}}, ctx);
    Sleeps sleeps;
    auto client = client_for({.url = server.url(), .ca_file = other.ca(), .sleep = sleeps.fn()});
    auto id = client->schema_id("s", "\"string\"");
    ASSERT_FALSE(id.is_ok());
    EXPECT_EQ(id.status().code(), ErrorCode::kPermissionDenied);
    EXPECT_NE(id.status().message().find("TLS certificate not trusted"), std::string::npos)
        << id.status().message();
    EXPECT_NE(id.status().message().find("ca_file"), std::string::npos);
    EXPECT_TRUE(sleeps.ms.empty()) << "a certificate problem is not retried";
  }
  SSL_CTX_free(ctx);
}

TEST(SchemaRegistryClient, AnswerWithoutIdIsReported) {
  CannedHttpServer server({{200, R"({"version":1})"}});
  auto client = client_for({.url = server.url()});
  auto id = client->schema_id("s", "\"string\"");
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(id.status().message().find("no schema id"), std::string::npos);
}

TEST(SchemaRegistryClient, RejectsBadUrlsAndMissingCaFile) {
  EXPECT_EQ(SchemaRegistryClient::create({.url = "registry:8081"}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(SchemaRegistryClient::create({.url = "ftp://x"}).status().code(),
            ErrorCode::kInvalidArgument);
  auto missing = SchemaRegistryClient::create(
      {.url = "https://127.0.0.1:1", .ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(SchemaRegistryClient, RedactsUserInfoFromUrls) {
  EXPECT_EQ(redact_url("https://u:p@reg:8081/x"), "https://***@reg:8081/x");
  EXPECT_EQ(redact_url("http://reg:8081/a@b"), "http://reg:8081/a@b");
  EXPECT_EQ(redact_url("http://reg"), "http://reg");
}

// --- the JSON of answers (untrusted input) ----------------------------------

TEST(SchemaRegistryJson, ParsesDocumentedAnswers) {
  auto a = schema_registry::parse_registry_answer(R"( {"id": 42} )");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 42);
  auto e = schema_registry::parse_registry_answer(
      R"({"error_code":409,"message":"bad \"x\" \u00e9\ud83d\udce6","extra":[1,{"a":null}],"f":-1.5e3})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error_code, 409);
  EXPECT_EQ(e->message, "bad \"x\" \xC3\xA9\xF0\x9F\x93\xA6");
  EXPECT_FALSE(e->id);
}

TEST(SchemaRegistryJson, RejectsMalformedInput) {
  for (std::string_view bad :
       {"", "{", "[]", "{\"id\":}", "{\"id\":1,}", "{\"id\":1} x", "{\"message\":\"\\ud83d\"}",
        "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"id\":01x}", "nul"}) {
    EXPECT_FALSE(schema_registry::parse_registry_answer(bad)) << bad;
  }
  std::string deep(10000, '[');
  EXPECT_FALSE(schema_registry::parse_registry_answer("{\"a\":" + deep + "}"));
}

TEST(SchemaRegistryJson, EscapesStrings) {
  std::string out;
  schema_registry::append_json_string(out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(schema_registry::registration_body("{\"type\":\"string\"}"),
            "{\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}");
}

}  // namespace
}  // namespace heliosdb::cdc
