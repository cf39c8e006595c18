#!/usr/bin/env bash
# Faults against the compose stack (compose.yaml), issue 14 §2. Each scenario is its own compose
# project (own network, own `runs` volume) running the same short, seeded run:
#
#   reference   uninterrupted
#   annealer    the annealer's process is SIGKILLed at a random update; Docker restarts the
#               container, the trainer retries its call
#   trainer     the trainer's process is SIGKILLed at a random update; Docker restarts it and
#               the service resumes the interrupted run from its last checkpoint
#   network     the annealer is disconnected from the project's network for 10 s, then
#               reconnected; the trainer waits within its deadlines and recovers
#   scale       `up --scale annealer=3`: the trainer resolves the three replicas by name and
#               spreads its calls over them; one replica is stopped mid-run and training
#               goes on with the other two (per-replica counts of answered requests printed)
#
# and every faulted run must end with a checkpoint bit-identical to the reference's (the
# file byte for byte, without its wall-clock field). Images come from the no-pull path
# (deploy/build-local.sh --profile dev: host binaries on the debootstrapped base image).
#
#   tests/docker/faults.sh                 # all scenarios (annealer trainer network scale)
#   tests/docker/faults.sh annealer        # the reference and the named ones
#
# Without a Docker engine it prints "SKIPPED: ..." and exits 0 (nothing was tested, and it does
# not say it passed). Bounded: the scenarios must finish within QAHM_FAULTS_BUDGET seconds
# (default 480) after the images are built, or the test fails.
#
# Environment: QAHM_FAULTS_BUDGET, QAHM_FAULTS_SEED (the random kill points; printed),
# QAHM_FAULTS_PROFILE (dev | release, the binaries' profile), QAHM_FAULTS_SKIP_BUILD=1 (use the
# qahm/*:faults images as they are), QAHM_FAULTS_KEEP=1 (leave the projects up for a look).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
say() { echo "faults: $*" >&2; }

if ! docker info >/dev/null 2>&1; then
    echo "SKIPPED: no Docker engine (docker info failed); the compose fault tests did not run"
    exit 0
fi
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
else
    echo "SKIPPED: a Docker engine but neither 'docker compose' nor 'docker-compose'"
    exit 0
fi
say "engine $(docker version -f '{{.Server.Version}}'), compose: $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -n1)"

BUDGET=${QAHM_FAULTS_BUDGET:-480}
SEED=${QAHM_FAULTS_SEED:-31337}
RANDOM=$SEED
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(annealer trainer network scale)

# The run: short, every stream seeded, the device's hidden physics pinned.
UPDATES=200
export QAHM_RUN_NAME=faults
export QAHM_RUN_ARGS="--iterations $UPDATES --checkpoint-every 10 --seed 20240 \
--train-size 2000 --test-size 200 --eval-every 50 --eval-size 200"
export QAHM_ANNEALER_DEVICE_SEED=77
export QAHM_TAG=faults
export RUST_LOG=info
# Host ports must not collide with anything else on the machine: the published ports are
# not used by the test, so give each project ports the kernel picks free.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 )); }

# ---------------------------------------------------------------------------------------------
# Images (not counted in the budget: a cold cargo build is minutes on a small machine).
if [[ ${QAHM_FAULTS_SKIP_BUILD:-0} != 1 ]]; then
    t0=$SECONDS
    QAHM_IMAGES="annealer trainer" deploy/build-local.sh --profile "${QAHM_FAULTS_PROFILE:-dev}"
    say "images built in $(( SECONDS - t0 )) s"
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^qahm/(annealer|trainer):faults ' >&2

WORK=$(mktemp -d /tmp/qahm-faults.XXXXXX)
PROJECTS=()
cleanup() {
    local p
    if [[ ${QAHM_FAULTS_KEEP:-0} == 1 ]]; then
        say "left up: ${PROJECTS[*]:-none}; results in $WORK"
        return
    fi
    for p in "${PROJECTS[@]}"; do
        "${COMPOSE[@]}" -p "$p" down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

START=$SECONDS
FAILED=0
left() { echo $(( BUDGET - (SECONDS - START) )); }
fail() { say "FAIL [$scenario]: $*"; FAILED=1; }

compose() { "${COMPOSE[@]}" -p "$project" "$@"; }
cid() { compose ps -q "$1"; }
# Updates done: lines of the run's metrics (0 before the file exists).
updates() {
    docker exec "$(cid trainer)" bash -c "wc -l < /runs/$QAHM_RUN_NAME/metrics.jsonl 2>/dev/null || echo 0" 2>/dev/null || echo 0
}
state() {
    docker exec "$(cid trainer)" bash -c "cat /runs/$QAHM_RUN_NAME/service.json 2>/dev/null" 2>/dev/null \
        | sed -n 's/^ *"state": *"\([a-z]*\)".*/\1/p'
}
# Waits until `test` holds, at most the budget left; 1 when it does not.
wait_for() {
    local what=$1 test=$2
    while ! eval "$test"; do
        if (( $(left) <= 0 )); then fail "out of time waiting for $what"; return 1; fi
        sleep 0.5
    done
}
restarts() { docker inspect -f '{{.RestartCount}}' "$(cid "$1")"; }
# Requests each given annealer container answered: its "sampled" log lines (one per answer).
served() {
    local c counts=()
    for c in "$@"; do counts+=("$(docker logs "$c" 2>&1 | grep -c ': sampled' || true)"); done
    echo "${counts[*]}"
}

run_scenario() {
    scenario=$1
    project="qahmfaults${scenario}$$"
    PROJECTS+=("$project")
    export QAHM_ANNEALER_PORTS QAHM_TRAINER_PORT
    local annealer_port scale=()
    annealer_port=$(free_port)
    # Room for three replicas; Docker gives each the next free port of the range.
    QAHM_ANNEALER_PORTS="$annealer_port-$(( annealer_port + 5 ))"
    QAHM_TRAINER_PORT=$(free_port)
    [[ $scenario != scale ]] || scale=(--scale annealer=3)
    local t_up=$SECONDS up_ms
    up_ms=$(date +%s%3N)
    compose up -d --no-build "${scale[@]}" >"$WORK/$scenario.up.log" 2>&1 || { cat "$WORK/$scenario.up.log" >&2; fail "compose up failed"; return 0; }
    wait_for "the first update" '[[ $(updates) -ge 1 ]]' || return 0
    local first_ms=$(( $(date +%s%3N) - up_ms ))
    say "[$scenario] up -> first update: $(( first_ms / 1000 )).$(( first_ms % 1000 / 100 )) s"

    # A random update in the middle of the run for the fault (10 % to 60 % of the way).
    local at=$(( UPDATES / 10 + RANDOM % (UPDATES / 2) ))
    case "$scenario" in
        reference) ;;
        annealer|trainer)
            wait_for "update $at" "[[ \$(updates) -ge $at ]]" || return 0
            sleep "0.$(( RANDOM % 10 ))"
            local before
            before=$(restarts "$scenario")
            say "[$scenario] SIGKILL to the $scenario's processes at update $(updates) (aimed at $at)"
            # Inside the container (tini is PID 1 and exits with its child): works with any engine,
            # and is a crash, not a stop (docker kill/stop would not trigger the restart policy).
            docker exec "$(cid "$scenario")" bash -c 'kill -9 -1' || true
            wait_for "the $scenario's restart" "[[ \$(restarts $scenario) -gt $before ]]" || return 0
            say "[$scenario] restarted (restart count $(restarts "$scenario")) after $(( SECONDS - t_up )) s of the scenario"
            ;;
        network)
            wait_for "update $at" "[[ \$(updates) -ge $at ]]" || return 0
            local net="${project}_default"
            docker network inspect "$net" >/dev/null 2>&1 || net="${project}-default"
            local ip_before ip_after n_off n_on t_on
            ip_before=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid annealer)")
            docker network disconnect "$net" "$(cid annealer)"
            n_off=$(updates)
            say "[$scenario] annealer ($ip_before) off the network at update $n_off (aimed at $at) for 10 s"
            sleep 10
            n_on=$(updates)
            docker network connect --alias annealer "$net" "$(cid annealer)"
            t_on=$SECONDS
            ip_after=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid annealer)")
            say "[$scenario] annealer ($ip_after) back on the network; updates while off: $(( n_on - n_off ))"
            wait_for "an update after the reconnect" "[[ \$(updates) -gt $n_on ]]" || return 0
            say "[$scenario] training again $(( SECONDS - t_on )) s after the reconnect"
            [[ $(( n_on - n_off )) -le 1 ]] || fail "the trainer kept training without its annealer"
            ;;
        scale)
            local replicas stopped before_stop stopped_at
            mapfile -t replicas < <(compose ps -q annealer)
            [[ ${#replicas[@]} -eq 3 ]] || { fail "${#replicas[@]} annealer replicas, not 3"; return 0; }
            wait_for "update $at" "[[ \$(updates) -ge $at ]]" || return 0
            before_stop=$(served "${replicas[@]}")
            stopped=${replicas[1]}
            stopped_at=$(updates)
            docker stop -t 5 "$stopped" >/dev/null
            say "[$scenario] requests answered per replica at update $stopped_at: $before_stop; replica 2 stopped"
            for n in $before_stop; do [[ $n -gt 0 ]] || fail "a replica served no request before the stop: $before_stop"; done
            ;;
    esac

    wait_for "the run to succeed" '[[ $(state) == succeeded || $(state) == failed ]]' || return 0
    local took=$(( SECONDS - t_up ))
    compose logs --no-color trainer >"$WORK/$scenario.trainer.log" 2>&1 || true
    compose logs --no-color annealer >"$WORK/$scenario.annealer.log" 2>&1 || true
    if [[ $scenario == scale ]]; then
        local at_end
        at_end=$(served "${replicas[@]}")
        say "[$scenario] requests answered per replica at the end: $at_end (replica 2 stopped at update $stopped_at)"
        read -r -a end_counts <<<"$at_end"
        read -r -a stop_counts <<<"$before_stop"
        [[ ${end_counts[0]} -gt ${stop_counts[0]} && ${end_counts[2]} -gt ${stop_counts[2]} ]] \
            || fail "the two replicas left did not take over: $before_stop -> $at_end"
    fi
    if [[ $(state) != succeeded ]]; then
        fail "the run ended $(state)"
        grep -i 'error\|fail' "$WORK/$scenario.trainer.log" | tail -n 5 >&2 || true
        return 0
    fi
    docker cp "$(cid trainer):/runs/$QAHM_RUN_NAME/checkpoint.json" "$WORK/$scenario.checkpoint.json"
    # Every field but the wall-clock one: machine, prior, rng, iteration, config, annealer.
    sed -E 's/"wall_seconds":[^,}]*,?//' "$WORK/$scenario.checkpoint.json" >"$WORK/$scenario.state"
    local retries resumed
    retries=$(grep -c 'annealer call failed; retrying' "$WORK/$scenario.trainer.log" || true)
    resumed=$(grep -c 'interrupted runs resumed' "$WORK/$scenario.trainer.log" || true)
    say "[$scenario] run succeeded after $took s of the scenario; trainer retry lines: $retries; service starts: $resumed"
    if [[ $retries -gt 0 ]]; then
        grep 'annealer call failed; retrying' "$WORK/$scenario.trainer.log" | sed 's/^/    /' | cut -c1-240 >&2
    fi
    if [[ $scenario != reference ]]; then
        if cmp -s "$WORK/reference.state" "$WORK/$scenario.state"; then
            say "[$scenario] PASS: final checkpoint bit-identical to the reference ($(wc -c <"$WORK/$scenario.state") bytes)"
        else
            fail "final checkpoint differs from the reference"
            cmp "$WORK/reference.state" "$WORK/$scenario.state" >&2 || true
        fi
        # The annealer's crash breaks the connection: the call must be retried. A 10 s cut keeps
        # the TCP connection (the annealer comes back at its address), so the trainer may just
        # wait; any retry it makes is one line, listed above.
        case "$scenario" in
            annealer) [[ $retries -ge 1 ]] || fail "the trainer logged no retry" ;;
            trainer) [[ $resumed -ge 2 ]] || fail "the trainer did not start twice" ;;
        esac
    fi
    [[ ${QAHM_FAULTS_KEEP:-0} == 1 ]] || compose down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
}

say "seed $SEED (QAHM_FAULTS_SEED); budget ${BUDGET} s; run: $QAHM_RUN_ARGS"
run_scenario reference
if [[ ! -s $WORK/reference.state ]]; then
    say "FAIL: no reference run; the faults were not tried"
    exit 1
fi
for s in "${SCENARIOS[@]}"; do
    case "$s" in
        annealer|trainer|network|scale) run_scenario "$s" ;;
        *) say "unknown scenario $s"; exit 64 ;;
    esac
done
say "total $(( SECONDS - START )) s of ${BUDGET} s"
if [[ $FAILED -ne 0 ]]; then
    say "FAILED"
    exit 1
fi
say "PASSED: ${SCENARIOS[*]}"
