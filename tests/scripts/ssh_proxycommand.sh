#!/usr/bin/env bash
# ssh through the tunnel: `wstunnel --headless --stdio %h:%p` as ssh's ProxyCommand.
#
#   ssh_proxycommand.sh BIN_DIR [--through-hub]
#
# Starts Debian's sshd on a loopback port with its own host key and an authorized key made for
# this run, wstunnel-remote allowing only that port, and then, through the tunnel, runs a command
# with ssh and copies a 50 MiB file with scp (checksum equal). A --stdio target outside the
# allow-list, or a remote that is not there, must exit 1 with the reason on stderr and nothing on
# stdout. With --through-hub the ProxyCommand reaches an agent through a hub (--agent devbox).
# Everything stays on 127.0.0.1, every wait is bounded, and everything started is stopped on exit.
set -euo pipefail

BIN_DIR="${1:-${WSTUNNEL_BIN_DIR:-}}"
THROUGH_HUB=0
if [ -z "$BIN_DIR" ] || { [ -n "${2:-}" ] && [ "$2" != "--through-hub" ]; }; then
    echo "usage: $0 BIN_DIR [--through-hub] (BIN_DIR holds wstunnel and wstunnel-remote)" >&2
    exit 2
fi
if [ "${2:-}" = "--through-hub" ]; then
    THROUGH_HUB=1
fi
REMOTE_BIN="$BIN_DIR/wstunnel-remote"
CLIENT_BIN="$BIN_DIR/wstunnel"
FILE_MIB=50

unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export no_proxy='*'

SCRIPT_NAME=ssh_proxycommand
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP="setting up"
WORK=""
SSHD_PID=""
REMOTE_PID=""
AGENT_PID=""
RESULT=1

cleanup() {
    local status=$?
    set +e
    stop_processes "$AGENT_PID" "$REMOTE_PID" "$SSHD_PID"
    remove_work "$status" "$WORK/sshd.err" "$WORK/remote.err" "$WORK/agent.err" "$WORK/ssh.err"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP="looking for the tools"
for tool in "$REMOTE_BIN" "$CLIENT_BIN"; do
    [ -x "$tool" ] || die "$tool is not built"
done
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || die "no $SSHD: run scripts/install-deps.sh (openssh-server)"
for tool in ssh scp ssh-keygen ss sha256sum; do
    command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-ssh.XXXXXX")
chmod 700 "$WORK"
USER_NAME=$(id -un)

STEP="starting sshd"
# sshd as root wants its privilege separation directory.
if [ "$(id -u)" -eq 0 ]; then
    mkdir -p /run/sshd
fi
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/user_key"
cp "$WORK/user_key.pub" "$WORK/authorized_keys"
echo "wstunnel-test $(cut -d' ' -f1,2 "$WORK/host_key.pub")" >"$WORK/known_hosts"
SSH_PORT=$(free_port) || die "no free port for sshd"
cat >"$WORK/sshd_config" <<CONFIG
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/authorized_keys
PidFile $WORK/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
CONFIG
"$SSHD" -D -e -f "$WORK/sshd_config" >"$WORK/sshd.out" 2>"$WORK/sshd.err" &
SSHD_PID=$!
wait_for_line "$WORK/sshd.err" "Server listening on 127\.0\.0\.1 port $SSH_PORT" 15 "$SSHD_PID" \
    >/dev/null || not_ready sshd "$SSHD_PID" "'Server listening'"
echo "== sshd on 127.0.0.1:$SSH_PORT"

WSTUNNEL_TOKEN="ssh-$RANDOM-$RANDOM-$$"
export WSTUNNEL_TOKEN
CLIENT_ARGS=""
if [ "$THROUGH_HUB" -eq 1 ]; then
    STEP="starting wstunnel-remote hub"
    echo "ssh-agent-$RANDOM-$RANDOM-$$" >"$WORK/agent.token"
    echo "$(cat "$WORK/agent.token") devbox" >"$WORK/agents.tokens"
    "$REMOTE_BIN" hub --listen 127.0.0.1:0 --agent-token-file "$WORK/agents.tokens" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready "wstunnel-remote hub" "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
    STEP="starting wstunnel-remote agent"
    "$REMOTE_BIN" agent --hub "$REMOTE_URL" --name devbox --token-file "$WORK/agent.token" \
        --allow "127.0.0.1:$SSH_PORT" >"$WORK/agent.out" 2>"$WORK/agent.err" &
    AGENT_PID=$!
    wait_for_line "$WORK/agent.out" '^registered with .* as devbox \(active\)$' 15 "$AGENT_PID" \
        >/dev/null || not_ready "wstunnel-remote agent" "$AGENT_PID" "'registered with'"
    CLIENT_ARGS="--agent devbox"
else
    STEP="starting wstunnel-remote"
    "$REMOTE_BIN" --listen 127.0.0.1:0 --allow "127.0.0.1:$SSH_PORT" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready wstunnel-remote "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
fi
echo "== wstunnel-remote: $REMOTE_URL"

PROXY="$CLIENT_BIN --headless --remote $REMOTE_URL $CLIENT_ARGS --stdio %h:%p"
SSH_OPTIONS=(-F /dev/null -o "ProxyCommand=$PROXY" -o BatchMode=yes -o IdentitiesOnly=yes
    -i "$WORK/user_key" -o HostKeyAlias=wstunnel-test -o StrictHostKeyChecking=yes
    -o "UserKnownHostsFile=$WORK/known_hosts" -o ConnectTimeout=20 -o LogLevel=ERROR)

STEP="running a command with ssh"
output=$(timeout 60 ssh "${SSH_OPTIONS[@]}" -p "$SSH_PORT" "$USER_NAME@127.0.0.1" \
    'echo "hello from $(id -un) over ssh"' 2>"$WORK/ssh.err") ||
    die "ssh failed: $(cat "$WORK/ssh.err")"
[ "$output" = "hello from $USER_NAME over ssh" ] || die "ssh printed '$output'"
[ ! -s "$WORK/ssh.err" ] || die "the ProxyCommand wrote to stderr: $(cat "$WORK/ssh.err")"
echo "== ssh: $output"

STEP="copying $FILE_MIB MiB with scp"
head -c $((FILE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/blob"
start=$(date +%s%N)
timeout 180 scp -q "${SSH_OPTIONS[@]}" -P "$SSH_PORT" "$WORK/blob" \
    "$USER_NAME@127.0.0.1:$WORK/copied" 2>"$WORK/ssh.err" || die "scp failed: $(cat "$WORK/ssh.err")"
end=$(date +%s%N)
want=$(sha256sum <"$WORK/blob")
got=$(sha256sum <"$WORK/copied")
[ "$got" = "$want" ] || die "the copy differs from the original"
echo "== scp: $FILE_MIB MiB in $(((end - start) / 1000000)) ms, checksum equal"

STEP="asking --stdio for a target outside the allow-list"
status=0
# shellcheck disable=SC2086
timeout 30 "$CLIENT_BIN" --headless --remote "$REMOTE_URL" $CLIENT_ARGS --stdio 127.0.0.1:1 \
    </dev/null >"$WORK/stdio.out" 2>"$WORK/stdio.err" || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] ||
    die "--stdio to a refused target exited with $status: $(cat "$WORK/stdio.err")"
[ ! -s "$WORK/stdio.out" ] || die "--stdio wrote to stdout: $(cat "$WORK/stdio.out")"
grep -q 'wstunnel: --stdio 127.0.0.1:1: .*not in the allow-list' "$WORK/stdio.err" || die "no reason on stderr: $(cat "$WORK/stdio.err")"
echo "== refused: exit $status, $(tail -n 1 "$WORK/stdio.err")"

STEP="asking --stdio through a remote that is not there"
DEAD_PORT=$(free_port) || die "no free port"
status=0
timeout 30 "$CLIENT_BIN" --headless --remote "ws://127.0.0.1:$DEAD_PORT/" --stdio 127.0.0.1:22 \
    </dev/null >"$WORK/stdio.out" 2>"$WORK/stdio.err" || status=$?
[ "$status" -eq 1 ] || die "--stdio without a remote exited with $status, not 1 at once"
[ ! -s "$WORK/stdio.out" ] || die "--stdio wrote to stdout: $(cat "$WORK/stdio.out")"
grep -q '^wstunnel: .*refused' "$WORK/stdio.err" || die "no reason on stderr: $(cat "$WORK/stdio.err")"
echo "== no remote: exit 1, $(tail -n 1 "$WORK/stdio.err")"

RESULT=0
summary "ssh ran a command and scp copied $FILE_MIB MiB through --stdio; a refused target exits $status"
