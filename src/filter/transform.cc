// TransformRule: add_metadata, mask_value, hash_key, each optionally scoped.
#include <optional>
#include <utility>

#include "common/sha256.h"
#include "filter/condition.h"
#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {

using filter_internal::quote;

struct TransformRule::Impl {
  Kind kind = Kind::kAddMetadata;
  std::string key;    // add_metadata
  std::string value;  // add_metadata; mask_value: the mask
  HashAlgorithm algorithm = HashAlgorithm::kHmacSha256;
  HashEncoding encoding = HashEncoding::kHex;
  std::optional<HmacSha256> hmac;  // kHmacSha256: midstates derived from the secret
  std::optional<FilterCondition> condition;
};

namespace {

TransformRule make(TransformRule::Impl impl) {
  return TransformRule(std::make_shared<const TransformRule::Impl>(std::move(impl)));
}

void encode_digest(const Sha256Digest& d, TransformRule::HashEncoding encoding, std::string& out) {
  if (encoding == TransformRule::HashEncoding::kRaw) {
    out.assign(reinterpret_cast<const char*>(d.data()), d.size());
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(2 * d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 15];
  }
}

}  // namespace

TransformRule TransformRule::add_metadata(std::string key, std::string value) {
  Impl impl;
  impl.kind = Kind::kAddMetadata;
  impl.key = std::move(key);
  impl.value = std::move(value);
  return make(std::move(impl));
}

TransformRule TransformRule::mask_value(std::string mask) {
  Impl impl;
  impl.kind = Kind::kMaskValue;
  impl.value = std::move(mask);
  return make(std::move(impl));
}

Result<TransformRule> TransformRule::hash_key(std::string_view secret, HashEncoding encoding) {
  if (secret.size() < kMinSecretBytes) {
    return invalid_argument("hash_key: the HMAC secret must be at least " +
                            std::to_string(kMinSecretBytes) + " bytes long (got " +
                            std::to_string(secret.size()) + ")");
  }
  Impl impl;
  impl.kind = Kind::kHashKey;
  impl.algorithm = HashAlgorithm::kHmacSha256;
  impl.encoding = encoding;
  impl.hmac.emplace(secret);
  return make(std::move(impl));
}

TransformRule TransformRule::hash_key_unkeyed_sha256(HashEncoding encoding) {
  Impl impl;
  impl.kind = Kind::kHashKey;
  impl.algorithm = HashAlgorithm::kSha256Unkeyed;
  impl.encoding = encoding;
  return make(std::move(impl));
}

TransformRule TransformRule::when(FilterCondition condition) const {
  Impl impl = *impl_;
  if (impl.condition) {
    impl.condition = FilterCondition::all_of({*impl.condition, std::move(condition)});
  } else {
    impl.condition = std::move(condition);
  }
  return make(std::move(impl));
}

TransformRule::Kind TransformRule::kind() const { return impl_->kind; }

const std::optional<FilterCondition>& TransformRule::condition() const { return impl_->condition; }

void TransformRule::apply(CdcEvent& event) const {
  const Impl& t = *impl_;
  if (t.condition && !t.condition->matches(event)) return;
  switch (t.kind) {
    case Kind::kAddMetadata: {
      auto it = event.metadata.find(t.key);
      if (it != event.metadata.end()) {
        it->second.assign(t.value);
      } else {
        event.metadata.emplace(t.key, t.value);
      }
      return;
    }
    case Kind::kMaskValue:
      if (event.value) event.value->assign(t.value);
      if (event.old_value) event.old_value->assign(t.value);
      return;
    case Kind::kHashKey: {
      Sha256Digest d =
          t.algorithm == HashAlgorithm::kHmacSha256 ? t.hmac->mac(event.key) : sha256(event.key);
      encode_digest(d, t.encoding, event.key);
      return;
    }
  }
}

std::string TransformRule::to_string() const {
  const Impl& t = *impl_;
  std::string out;
  switch (t.kind) {
    case Kind::kAddMetadata:
      out = "add_metadata " + quote(t.key) + " = " + quote(t.value);
      break;
    case Kind::kMaskValue:
      out = "mask_value: value and old_value become " + quote(t.value);
      break;
    case Kind::kHashKey:
      out = t.algorithm == HashAlgorithm::kHmacSha256
                ? "hash_key: key becomes HMAC-SHA-256(secret, key) (secret not shown)"
                : "hash_key: key becomes SHA-256(key), UNKEYED (guessable keys can be recovered)";
      out += t.encoding == HashEncoding::kHex ? ", 64 hex characters" : ", 32 raw bytes";
      break;
  }
  if (t.condition) out += ", when " + t.condition->to_string();
  return out;
}

}  // namespace heliosdb::cdc
