#!/usr/bin/env bash
# Swift binding tests on Linux. Debian 12 has no Swift toolchain, so they run inside a Debian
# trixie chroot (swiftlang 6) that this script creates once under build/swift-chroot (about 3 GB,
# gitignored). The FFI library is built and the Swift bindings are generated on the host; the
# chroot compiles them with the test program under ios/Tests/BindingTests and runs it.
#
# Every mount lives in a private mount namespace (unshare) and is also unmounted by an EXIT trap,
# so nothing is left mounted, even when the script is interrupted. Concurrent runs are serialised.
# Needs root. Usage: scripts/swift-test.sh      Last line of output: "N passed, M failed".
# SWIFT_CHROOT_MIRROR overrides the Debian mirror (default: the one in this machine's apt sources).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
root=$PWD
chroot_dir=$root/build/swift-chroot
ready_marker=$chroot_dir/.swift-chroot-ready
suite=trixie
packages="swiftlang libc6-dev"

step() { echo "--> $*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "swift-test.sh needs root (debootstrap, chroot, mount)" >&2; exit 1; }

# Re-run inside a private mount namespace: the kernel drops its mounts when the script exits.
if [ -z "${SWIFT_TEST_IN_NAMESPACE:-}" ] && command -v unshare >/dev/null \
   && unshare --mount --propagation private true 2>/dev/null; then
  export SWIFT_TEST_IN_NAMESPACE=1
  exec unshare --mount --propagation private bash "$self" "$@"
fi

mkdir -p "$root/build"
exec 9>"$root/build/swift-chroot.lock"
flock 9

# Mounts made by this run, unmounted in reverse order on exit.
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
  done
  mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_into() { # <dir>: proc, /dev and the workspace under <dir>/workspace
  local dir=$1
  mkdir -p "$dir/proc" "$dir/dev" "$dir/workspace"
  mount -t proc proc "$dir/proc" && mounted+=("$dir/proc")
  mount --bind /dev "$dir/dev" && mounted+=("$dir/dev")
  mount --bind "$root" "$dir/workspace" && mounted+=("$dir/workspace")
}

something_mounted_under() { # <dir>
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

in_chroot() { # <dir> <shell command>
  chroot "$1" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -c "$2"
}

apt_mirror() { # the Debian archive this machine's apt uses (one-line or deb822 sources)
  if [ -n "${SWIFT_CHROOT_MIRROR:-}" ]; then echo "$SWIFT_CHROOT_MIRROR"; return; fi
  local uri
  uri=$( { sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z+]+:\/\/[^[:space:]]+).*/\2/p' \
             /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
           sed -nE 's/^[[:space:]]*URIs:[[:space:]]*(.*)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | tr ' ' '\n'
         } | grep -E '^[a-z+]+://[^ ]*/debian/?$' | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

apt_install_host() { # <package>...
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; }
}

# 1. The chroot (once) -----------------------------------------------------------------------------
if [ ! -f "$ready_marker" ]; then
  tmp=$chroot_dir.partial
  for d in "$chroot_dir" "$tmp"; do
    if something_mounted_under "$d"; then
      echo "refusing to touch $d: something is mounted under it" >&2; exit 1
    fi
  done
  rm -rf "$chroot_dir" "$tmp"
  command -v debootstrap >/dev/null || { step "installing debootstrap (apt)"; apt_install_host debootstrap; }
  mirror=$(apt_mirror)
  step "debootstrap $suite from $mirror (once)"
  debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >&2
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  mount_into "$tmp"
  step "installing $packages in the chroot (once)"
  in_chroot "$tmp" "apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean" >&2
  cleanup
  mv "$tmp" "$chroot_dir"
  date -u +%FT%TZ > "$ready_marker"
fi

# 2. Native library and generated bindings (host) ---------------------------------------------------
# `test-cloud`: the fake RainMaker cloud and simulated RainMaker nodes the tests start.
step "cargo build -p rainmaker-prov-ffi --features test-cloud"
cargo build -q -p rainmaker-prov-ffi --features test-cloud
gen=build/swift-gen
out=build/swift-test
step "generating Swift bindings"
rm -rf "$gen"
# Two Swift files (the bindings, RainmakerProv.swift, and the core's RainMaker types,
# RainmakerProvCore.swift; names in bindings/uniffi-crates.toml), compiled into the one RainmakerProv
# module; their two C headers form the one RainmakerProvFFI C module.
cargo run -q -p rainmaker-prov-ffi --bin uniffi-bindgen -- generate \
  --library target/debug/librainmaker_prov_ffi.so --language swift --no-format \
  --config bindings/uniffi-crates.toml --out-dir "$gen" >&2
sed -i 's|^\( *\)header "RainmakerProvFFI.h"|&\n\1header "RainmakerProvCoreFFI.h"|' "$gen/RainmakerProvFFI.modulemap"
grep -q RainmakerProvCoreFFI.h "$gen/RainmakerProvFFI.modulemap" || { echo "module map not extended" >&2; exit 1; }

# The README sample must be the code the tests compile. Blocks fenced ```swift ios use CoreBluetooth
# (the shipped BLE adapter), which Linux does not have; the README says so.
python3 - ios/README.md ios/Tests/BindingTests/ReadmeSample.swift <<'PY'
import re, sys
readme, sample = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
blocks = re.findall(r"```swift\n(.*?)```", readme, re.S)
stale = [b for b in blocks if b.strip() not in sample]
if not blocks or stale:
    sys.exit(f"{sys.argv[1]}: the Swift sample differs from {sys.argv[2]}")
PY

# 3. Compile and run in the chroot --------------------------------------------------------------------
mapfile -t tests < <(find ios/Tests/BindingTests -name '*.swift' | LC_ALL=C sort)
# The library's hand-written sources (URLSessionHttpClient), compiled into the module with the
# generated ones (the generated RainmakerProv.swift there, if any, is skipped).
# CoreBluetoothGattLink.swift is wrapped in `#if canImport(CoreBluetooth)`: on Linux it compiles to
# nothing (CoreBluetooth is Apple-only); the tests drive the same GattLink protocol with a Swift fake.
mapfile -t shipped < <(find ios/Sources/RainmakerProv -name '*.swift' ! -name RainmakerProv.swift \
  ! -name RainmakerProvCore.swift | LC_ALL=C sort)
stamp=$(cat "$gen"/* "${shipped[@]}" "${tests[@]}" | sha256sum | cut -d' ' -f1)
mount_into "$chroot_dir"
if [ -f "$out/$stamp" ] && [ -x "$out/binding-tests" ]; then
  step "swiftc skipped (sources unchanged)"
else
  step "swiftc (bindings module + ${#tests[@]} test files)"
  rm -rf "$out" && mkdir -p "$out"
  ffi_flags="-I $gen -Xcc -fmodule-map-file=$gen/RainmakerProvFFI.modulemap"
  in_chroot "$chroot_dir" "set -e; cd /workspace
    swiftc -parse-as-library -emit-library -emit-module -module-name RainmakerProv $ffi_flags \
      -emit-module-path $out/RainmakerProv.swiftmodule -o $out/libRainmakerProv.so \
      $gen/RainmakerProv.swift $gen/RainmakerProvCore.swift ${shipped[*]} -L target/debug -lrainmaker_prov_ffi
    swiftc -module-name BindingTests -I $out $ffi_flags ${tests[*]} -o $out/binding-tests \
      -L $out -lRainmakerProv -L target/debug -lrainmaker_prov_ffi"
  touch "$out/$stamp"
fi
step "running the Swift binding tests"
status=0
in_chroot "$chroot_dir" "cd /workspace && LD_LIBRARY_PATH=$out:target/debug $out/binding-tests" || status=$?
exit "$status"
