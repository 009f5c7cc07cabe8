# Sourced by scripts/interop-test.sh and scripts/bench-flow.sh (bash): creates or refreshes the
# virtualenv that holds Espressif's Python provisioning client (pins in requirements.txt).
# Expects to run from the repository root; sets VENV.

VENV=build/interop-venv

ensure_interop_venv() {
    local req=tests/interop/requirements.txt want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [[ -x $VENV/bin/python && -f $VENV/.requirements.sha256 && $(cat "$VENV/.requirements.sha256") == "$want" ]]; then
        return 0 # already set up with these pins: nothing to do
    fi
    if [[ ! -x $VENV/bin/python ]]; then
        rm -rf "$VENV"
        mkdir -p "$(dirname "$VENV")"
        if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            echo "interop: python3 -m venv failed; installing python3-venv with apt" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$VENV"
        fi
    fi
    echo "interop: installing the pinned Python packages into $VENV" >&2
    # --no-deps: esp-rainmaker-cli declares heavy dependencies (opencv, aiortc, boto3, esptool,
    # ...) that its protocomm modules never import; requirements.txt lists what they do import.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps \
        --only-binary :all: -r "$req"
    "$VENV/bin/python" -c 'import rmaker_tools.common.security, rmaker_tools.common.transport, rmaker_tools.common.prov'
    echo "$want" >"$VENV/.requirements.sha256"
}
