#!/usr/bin/env bash
# The layering test, link side (tests/CMakeLists.txt): every symbol a module's
# static library leaves undefined and another module defines must come from
# one of its DEPS, so each exported heliosdb_cdc::<module> links on its own
# and a wrong-direction call through a public header (include/heliosdb/cdc/,
# visible to all) is caught too.
#   check_links.sh <module_graph.cmake> <nm> <archive dir>
set -euo pipefail
graph=$1 nm=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
read -r -a modules <<<"$(sed -n 's/^set(HELIOSDB_CDC_MODULES \(.*\))$/\1/p' "$graph" | tr ';' ' ')"
for m in "${modules[@]}"; do
  lib=$dir/libheliosdb_cdc_$m.a
  [[ -f $lib ]] || { echo "missing $lib"; exit 1; }
  # Strong definitions only: weak ones (inline functions, templates) are in
  # every object that uses them.
  "$nm" -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ {print $3}' | sort -u >"$tmp/strong.$m"
  "$nm" -g --defined-only "$lib" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/defined.$m"
  "$nm" -g --undefined-only "$lib" | awk '{print $NF}' | sort -u | comm -23 - "$tmp/defined.$m" >"$tmp/undefined.$m"
done
status=0
for m in "${modules[@]}"; do
  deps=" $(sed -n "s/^set(HELIOSDB_CDC_MODULE_${m}_DEPS \?\(.*\))$/\1/p" "$graph" | tr ';' ' ') "
  for d in "${modules[@]}"; do
    [[ $d == "$m" || $deps == *" $d "* ]] && continue
    used=$(comm -12 "$tmp/undefined.$m" "$tmp/strong.$d")
    if [[ -n $used ]]; then
      echo "$m uses $d, which its DEPS do not allow:"
      echo "$used" | c++filt | sed 's/^/  /' | head -20
      status=1
    fi
  done
done
[[ $status == 0 ]] && echo "every module links only its DEPS (${modules[*]})"
exit $status
