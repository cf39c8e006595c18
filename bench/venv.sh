# Sourced by the bench scripts: `ensure_venv` creates bench/.venv and installs
# bench/requirements.txt into it (every reference tool of `make bench`) unless all of them
# import already. Run from the repository root.
VENV="bench/.venv"

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating $VENV"
        # Debian's python3 lacks ensurepip unless python3-venv is installed: fall back to a
        # venv without pip, populated by the system pip through --python.
        python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; python3 -m venv --without-pip "$VENV"; }
    fi
    if ! "$VENV/bin/python" -c 'import dwave.samplers, numpy, minorminer, dwave_networkx' 2>/dev/null; then
        echo "installing bench/requirements.txt into $VENV"
        if "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
            "$VENV/bin/python" -m pip install -q -r bench/requirements.txt
        else
            python3 -m pip --python "$VENV/bin/python" install -q -r bench/requirements.txt
        fi
    fi
}
