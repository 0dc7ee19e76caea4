#!/usr/bin/env bash
# Load figures of issue 9, reproducibly: `wrk -t1 -c10` against a real `openkit serve`
# (release build) on a hermetic fixture project with N linked worktrees and a long
# activity history.
#
#   GET /api/worktrees            at N = 50: target p99 <= 5 ms
#   GET /api/activity?limit=100              target p99 <= 10 ms
#
# Usage: benches/scripts/load.sh [N]          (N linked worktrees, default 50)
#
# Environment (all optional):
#   PORT=4590         first port tried (the server takes the next free one of 20; the
#                     real one is read from .openkit/server.json)
#   DURATION=15s      wrk duration per endpoint
#   EVENTS=20000      activity events in .openkit/activity.jsonl
#   KEEP_FIXTURE=1    keep the temporary directory (server log, wrk output) for a look
#   STRICT=1          exit 1 when a p99 misses its target
#
# Needs: cargo, git, curl, awk and wrk (`apt-get install wrk`). Nothing outside a
# temporary directory is touched; the fixture has its own HOME and no global git config.
set -euo pipefail

N="${1:-50}"
PORT="${PORT:-4590}"
DURATION="${DURATION:-15s}"
EVENTS="${EVENTS:-20000}"
THREADS=1
CONNECTIONS=10
FILES=40

die() {
    printf 'load.sh: %s\n' "$*" >&2
    exit 1
}

[[ "$N" =~ ^[0-9]+$ ]] || die "N must be a non-negative integer, got '$N'"
[[ "$EVENTS" =~ ^[0-9]+$ ]] || die "EVENTS must be a non-negative integer, got '$EVENTS'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$PORT'"

# wrk first, so a missing tool does not cost a release build.
if ! command -v wrk >/dev/null 2>&1; then
    cat >&2 <<'EOF'
load.sh: wrk is not installed. Install it, then run this script again:
    sudo apt-get install wrk        # Debian/Ubuntu
    brew install wrk                # macOS
EOF
    exit 2
fi
for tool in cargo git curl awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not on PATH"
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# 1. The release binary (before HOME changes below: cargo and rustup live there).
echo "== Building the release binary (cargo build --release -p openkit-cli)"
(cd "$ROOT" && cargo build --release -p openkit-cli)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/openkit"
[[ -x "$BIN" ]] || die "no binary at $BIN after the build"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openkit-load.XXXXXX")"
SERVER_PID=""

cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "load.sh: the server ignored SIGTERM for 10 s; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -s "$WORK/server.log" ]]; then
        echo "--- server log (last 30 lines) ---" >&2
        tail -n 30 "$WORK/server.log" >&2 || true
    fi
    if [[ "${KEEP_FIXTURE:-}" == 1 ]]; then
        echo "Fixture kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 2. The hermetic fixture project: nothing of the developer's git config or home.
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$HOME/.config"
export GIT_CONFIG_GLOBAL=/dev/null
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="OpenKit Load" GIT_AUTHOR_EMAIL="load@openkit.invalid"
export GIT_COMMITTER_NAME="OpenKit Load" GIT_COMMITTER_EMAIL="load@openkit.invalid"
export GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z"
export GIT_TERMINAL_PROMPT=0
export LC_ALL=C
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR OPENKIT_PORT
mkdir -p "$HOME" "$XDG_CONFIG_HOME"

PROJECT="$WORK/project"
echo "== Fixture: $FILES source files, $N linked worktrees, $EVENTS activity events in $PROJECT"
mkdir -p "$PROJECT/.openkit"
git -C "$PROJECT" init -q -b main
printf '{ "name": "fixture", "private": true }\n' >"$PROJECT/package.json"
filler="$(printf '// filler line to give the file some weight\n%.0s' $(seq 1 20))"
for ((i = 0; i < FILES; i++)); do
    dir="$PROJECT/src/mod$((i % 8))"
    mkdir -p "$dir"
    printf 'export function f%d(x: number): number {\n  return x * %d + 1;\n}\n%s\n' \
        "$i" "$i" "$filler" >"$dir/file$i.ts"
done
# What `openkit init` leaves: the config (no install or start command, so nothing runs)
# and the .gitignore that keeps worktrees and logs out of the main checkout's status.
cat >"$PROJECT/.openkit/config.json" <<'EOF'
{
  "baseBranch": "main",
  "startCommand": "",
  "installCommand": "",
  "autoInstall": false
}
EOF
printf '*\n!.gitignore\n!config.json\n' >"$PROJECT/.openkit/.gitignore"
git -C "$PROJECT" add -A
git -C "$PROJECT" commit -q -m "Fixture project"

started=$SECONDS
for ((i = 0; i < N; i++)); do
    id="$(printf 'wt-%04d' "$i")"
    git -C "$PROJECT" worktree add -q ".openkit/worktrees/$id" -b "feature/$id"
done
echo "   $N worktrees added in $((SECONDS - started)) s"

# The activity history, as ActivityLog appends it (one serde_json line per
# ActivityEvent, camelCase keys in field order): agents reporting phases and waiting for
# input, worktree lifecycle, system notices; 225-360 bytes a line. Deterministic but
# for the clock: ids from a Park-Miller sequence, one event every 13 s ending now
# (20,000 events ~ 3 days), so no retention setting could prune them at start-up.
first_ms=$((($(date +%s) - EVENTS * 13) * 1000))
awk -v n="$EVENTS" -v wts="$((N > 0 ? N : 1))" -v first_ms="$first_ms" '
function civil(days,   z, era, doe, yoe, y, doy, mp, d, m) {
    z = days + 719468
    era = int(z / 146097)
    doe = z - era * 146097
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
    y = yoe + era * 400
    doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
    mp = int((5 * doy + 2) / 153)
    d = doy - int((153 * mp + 2) / 5) + 1
    m = mp < 10 ? mp + 3 : mp - 9
    if (m <= 2) y++
    return sprintf("%04d-%02d-%02d", y, m, d)
}
function iso(ms,   s, days, rem) {
    s = int(ms / 1000)
    days = int(s / 86400)
    rem = s - days * 86400
    return sprintf("%sT%02d:%02d:%02d.%03dZ", civil(days), int(rem / 3600),
        int((rem % 3600) / 60), rem % 60, ms % 1000)
}
function next_rand() {
    seed = (seed * 16807) % 2147483647
    return seed
}
BEGIN {
    seed = 20260101
    split("planning implementing testing reviewing committing", phases, " ")
    for (i = 0; i < n; i++) {
        h1 = next_rand(); h2 = next_rand(); h3 = next_rand()
        id = sprintf("%08x-%04x-4%03x-%04x-%012x", h1, h2 % 65536, h3 % 4096,
            32768 + h1 % 16384, i)
        ts = iso(first_ms + i * 13000 + h2 % 1000)
        wt = sprintf("wt-%04d", h3 % wts)
        k = i % 20
        detail = ""; meta = ""; group = ""
        if (k < 10) {
            cat = "agent"
            if (h2 % 10 < 6) {
                phase = phases[1 + h1 % 5]
                type = "agent_phase"; sev = "info"; title = "Agent in " wt ": " phase
                meta = "{\"phase\":\"" phase "\"}"
            } else if (h2 % 10 < 8) {
                type = "agent_awaiting_input"; sev = "warning"
                title = "Agent in " wt " is waiting for input"
                detail = "Should the migration also backfill the audit table, or leave existing rows alone?"
                meta = "{}"
            } else {
                type = "agent_check_flow"; sev = "info"; title = "Agent in " wt " runs its checks"
                meta = "{}"
            }
        } else if (k < 17) {
            cat = "worktree"; group = "worktree:" wt
            r = h2 % 20
            if (r < 8) {
                type = "creation_started"; sev = "info"; title = "Creating worktree " wt
                detail = "From main on branch feature/" wt
            } else if (r < 15) {
                type = "creation_completed"; sev = "success"; title = "Worktree " wt " is ready"
                detail = sprintf("Checked out feature/%s from main and copied 2 .env files in %d ms", wt, 200 + h3 % 4000)
            } else if (r < 17) {
                type = "creation_failed"; sev = "error"; title = "Creating worktree " wt " failed"
                detail = "git worktree add: fatal: a branch named feature/" wt " already exists"
            } else if (r < 19) {
                type = "crashed"; sev = "error"; title = "Dev server of " wt " crashed"
                detail = sprintf("pnpm dev --port %d exited with code 1", 3000 + (h3 % 200) * 10)
            } else {
                type = "deleted"; sev = "info"; title = "Worktree " wt " deleted"
                detail = "The branch feature/" wt " was kept"
            }
        } else {
            cat = "system"; wt = ""
            if (h2 % 2) {
                type = "server_started"; sev = "info"; title = "OpenKit started on http://localhost:4040"
            } else {
                type = "config_changed"; sev = "info"; title = "Configuration updated (ports.offsetStep)"
            }
        }
        line = sprintf("{\"id\":\"%s\",\"timestamp\":\"%s\",\"category\":\"%s\",\"type\":\"%s\",\"severity\":\"%s\",\"title\":\"%s\"",
            id, ts, cat, type, sev, title)
        if (detail != "") line = line ",\"detail\":\"" detail "\""
        if (wt != "") line = line ",\"worktreeId\":\"" wt "\""
        line = line ",\"projectName\":\"fixture-app\""
        if (meta != "") line = line ",\"metadata\":" meta
        if (group != "") line = line ",\"groupKey\":\"" group "\""
        print line "}"
    }
}' >"$PROJECT/.openkit/activity.jsonl"
echo "   activity.jsonl: $(wc -l <"$PROJECT/.openkit/activity.jsonl") lines, $(wc -c <"$PROJECT/.openkit/activity.jsonl") bytes"

# 3. The server, pointed at the fixture.
echo "== Starting: $BIN -C $PROJECT serve --no-open --port $PORT"
"$BIN" -C "$PROJECT" serve --no-open --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

SERVER_JSON="$PROJECT/.openkit/server.json"
URL=""
for ((i = 0; i < 1200; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during start-up"
    if [[ -z "$URL" && -s "$SERVER_JSON" ]]; then
        URL="$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$SERVER_JSON")"
    fi
    if [[ -n "$URL" ]] &&
        curl -fsS -o /dev/null --max-time 5 "$URL/api/worktrees" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
[[ -n "$URL" ]] || die "the server wrote no $SERVER_JSON within 120 s"
ACTUAL_PORT="${URL##*:}"
# wrk connects to 127.0.0.1 (the only address the server listens on) and names that in
# its Host header; the Host check accepts it, and localhost:PORT is sent to be explicit.
BASE="http://127.0.0.1:$ACTUAL_PORT"
HOST_HEADER="Host: localhost:$ACTUAL_PORT"

# Sanity: the fixture is what the server sees (and both caches are warm).
listed="$(curl -fsS -H "$HOST_HEADER" "$BASE/api/worktrees" | grep -o '"id":"wt-[0-9]*"' | wc -l)"
[[ "$listed" -eq "$N" ]] || die "GET /api/worktrees lists $listed linked worktrees, expected $N"
expected_events=$((EVENTS < 100 ? EVENTS : 100))
events="$(curl -fsS -H "$HOST_HEADER" "$BASE/api/activity?limit=100" | grep -o '"timestamp":' | wc -l)"
[[ "$events" -eq "$expected_events" ]] ||
    die "GET /api/activity?limit=100 returned $events events, expected $expected_events"
echo "   serving on $URL (pid $SERVER_PID); lists $listed worktrees and $events events"

ENDPOINTS=("/api/worktrees" "/api/activity?limit=100")
TARGETS_MS=(5 10)
# The worktree-list target is stated for N=50; at other N it is shown for comparison.
TARGET_AT_N=(50 "")

for idx in "${!ENDPOINTS[@]}"; do
    path="${ENDPOINTS[$idx]}"
    echo
    echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H '$HOST_HEADER' '$BASE$path'"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$HOST_HEADER" "$BASE$path" |
        tee "$WORK/wrk-$idx.txt"
done

# 4. The summary (wrk's full output is above).
to_ms='
function ms(v,   n) {
    n = v + 0
    if (v ~ /us$/) return n / 1000
    if (v ~ /ms$/) return n
    if (v ~ /m$/) return n * 60000
    if (v ~ /s$/) return n * 1000
    return n
}'
LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
missed=0
echo
echo "== Summary: N=$N worktrees, $EVENTS activity events, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc 2>/dev/null || echo '?') CPUs, load average $LOAD"
printf '%-28s %10s %10s %10s %12s\n' "endpoint" "p50 ms" "p99 ms" "req/s" "target p99"
for idx in "${!ENDPOINTS[@]}"; do
    out="$WORK/wrk-$idx.txt"
    read -r p50 p99 rps errors < <(awk "$to_ms"'
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        /Socket errors:/ { errors += 1 }
        END { printf "%.3f %.3f %.0f %d\n", p50, p99, rps, errors }' "$out")
    applies=1
    [[ -z "${TARGET_AT_N[$idx]}" || "$N" -eq "${TARGET_AT_N[$idx]}" ]] || applies=0
    verdict="ok"
    if awk -v a="$p99" -v b="${TARGETS_MS[$idx]}" 'BEGIN { exit !(a > b) }'; then
        verdict="MISSED"
        [[ "$applies" -eq 0 ]] || missed=1
    fi
    [[ "$applies" -eq 1 ]] || verdict="($verdict; the target is for N=${TARGET_AT_N[$idx]})"
    if [[ "$errors" -ne 0 ]]; then
        verdict="$verdict (errors: see wrk output)"
        missed=1
    fi
    printf '%-28s %10s %10s %10s %9s ms  %s\n' "GET ${ENDPOINTS[$idx]}" "$p50" "$p99" "$rps" \
        "<= ${TARGETS_MS[$idx]}" "$verdict"
done

if [[ "$missed" -ne 0 && "${STRICT:-}" == 1 ]]; then
    exit 1
fi
