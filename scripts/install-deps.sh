#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build and test HeliosDB CDC.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  librdkafka-dev libre2-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libbenchmark-dev libgtest-dev libgmock-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev libjemalloc-dev
  clang-14 libclang-rt-14-dev
  kcat python3 python3-pip python3-avro prometheus openssl
  curl procps gnuplot-nox
  postgresql-15 postgresql-client-15 libpq-dev
)
# Toolchains that may already come from elsewhere on the machine.
command -v mvn >/dev/null || PACKAGES+=(maven)
command -v java >/dev/null || PACKAGES+=(default-jre-headless)
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
