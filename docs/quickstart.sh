#!/usr/bin/env bash
# The walkthrough of docs/quickstart.md, run against a live server.
#
# Prints a transcript: each command as a reader would type it, then its
# answer, with the values that change on every run (tokens, ids, secrets,
# codes, times, the QR image) replaced by placeholders such as <token>.
# tests/api/docs.rs runs this script and compares its output with the
# transcript in docs/quickstart.md, so the page cannot drift from the code.
#
#   BASE_URL    where the server listens (default http://127.0.0.1:3000)
#   MFA_SERVER  the mfa-server binary, for `mfa-server totp`
#               (default ./target/debug/mfa-server, where `cargo run` builds it)
#
# Needs bash and curl only. Registers alice@example.com, so run it on a
# database where that account does not exist yet.
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:3000}
MFA_SERVER=${MFA_SERVER:-./target/debug/mfa-server}

# The URL the transcript shows; the commands really go to $BASE_URL.
SHOWN_URL=http://127.0.0.1:3000
# A TOTP time step, in seconds.
STEP=30

# The last command's output, unmasked.
LAST=

# Seconds since 1970; bash 5 has them built in.
now() {
  if [ -n "${EPOCHSECONDS:-}" ]; then
    printf '%s\n' "$EPOCHSECONDS"
  else
    date +%s
  fi
}

say() {
  printf '# %s\n' "$@"
}

# Replaces every value that differs between runs with a fixed placeholder.
mask() {
  sed -E \
    -e 's/"id":"[^"]*"/"id":"<user-id>"/g' \
    -e 's/"session-id":"[^"]*"/"session-id":"<session-id>"/g' \
    -e 's/"token":"[^"]*"/"token":"<token>"/g' \
    -e 's/"expires-at":"[^"]*"/"expires-at":"<expires-at>"/g' \
    -e 's/"enabled-at":"[^"]*"/"enabled-at":"<enabled-at>"/g' \
    -e 's/"secret":"[^"]*"/"secret":"<secret>"/g' \
    -e 's/secret=[A-Z2-7]+/secret=<secret>/g' \
    -e 's/"data:image\/svg\+xml;base64,[^"]*"/"data:image\/svg+xml;base64,<qr-code>"/g' \
    -e 's/"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}"/"<backup-code>"/g' \
    -e 's/^time .*/time <time>/' \
    -e 's/^code [0-9]+$/code <code>/' \
    -e 's/^valid for [0-9]+ more seconds$/valid for <seconds> more seconds/'
}

# Reads a command from stdin, shows it as typed, runs it and shows its
# masked output. The command names $SHOWN_URL and ./target/debug/mfa-server;
# it runs against $BASE_URL and $MFA_SERVER.
run() {
  local command shown_first=0 line
  command=$(cat)
  while IFS= read -r line; do
    if [ "$shown_first" -eq 0 ]; then
      printf '$ %s\n' "$line"
      shown_first=1
    else
      printf '%s\n' "$line"
    fi
  done <<<"$command"

  command=${command//"$SHOWN_URL"/'$BASE_URL'}
  command=${command/#.\/target\/debug\/mfa-server /'"$MFA_SERVER" '}
  LAST=$(eval "$command")
  mask <<<"$LAST"
}

# The value of a string field of the last JSON answer.
field() {
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$LAST"
}

# Sets a shell variable as the reader would, by pasting a value.
keep() {
  local name=$1 value=$2 placeholder=$3
  if [ -z "$value" ]; then
    printf 'quickstart.sh: no value for %s in: %s\n' "$name" "$LAST" >&2
    exit 1
  fi
  printf -v "$name" '%s' "$value"
  printf "\$ %s='%s'\n" "$name" "$placeholder"
}

say "0. Check that the server answers."
run <<'EOF'
curl -s -w '\n' http://127.0.0.1:3000/health
EOF
echo

say "1. Create an account."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/register \
    -H 'Content-Type: application/json' \
    -d '{"email": "alice@example.com", "password": "correct horse battery staple", "name": "Alice"}'
EOF
echo

say "2. Log in with the password. MFA is off, so this opens a session." \
  "Keep the bearer token: every /api/auth/mfa/ endpoint needs it."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/login \
    -H 'Content-Type: application/json' \
    -d '{"email": "alice@example.com", "password": "correct horse battery staple"}'
EOF
keep TOKEN "$(field token)" '<token>'
echo

say "3. Start the MFA setup. The answer holds the secret, its QR code and ten" \
  "backup codes; it is shown once. Save the backup codes somewhere safe."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/mfa/setup \
    -H "Authorization: Bearer $TOKEN"
EOF
keep SECRET "$(field secret)" '<secret>'
keep BACKUP_CODE "$(sed -n 's/.*"backup-codes":\["\([^"]*\)".*/\1/p' <<<"$LAST")" '<backup-code>'
echo

say "4. Add the secret to an authenticator app (scan the QR code or type the" \
  "secret). Without an app, ask mfa-server for the code an app would show now," \
  "and copy the code it prints."
run <<'EOF'
./target/debug/mfa-server totp --secret "$SECRET"
EOF
keep CODE "$(sed -n 's/^code //p' <<<"$LAST")" '<code>'
# The step that code belongs to, read after the code was made, so it is never
# older than the code's own step.
ENABLE_STEP=$(($(now) / STEP))
echo

say "5. Turn MFA on with that code. This also uses the code up."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/mfa/enable \
    -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"verificationCode\": \"$CODE\"}"
EOF
echo

say "6. From now on the password alone opens no session."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/login \
    -H 'Content-Type: application/json' \
    -d '{"email": "alice@example.com", "password": "correct horse battery staple"}'
EOF
echo

say "7. Log in with a backup code. Each one works once."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/login \
    -H 'Content-Type: application/json' \
    -d "{\"email\": \"alice@example.com\", \"password\": \"correct horse battery staple\", \"mfa-code\": \"$BACKUP_CODE\"}"
EOF
echo

say "8. Check the status."
run <<'EOF'
curl -s -w '\n' http://127.0.0.1:3000/api/auth/mfa/status \
    -H "Authorization: Bearer $TOKEN"
EOF
echo

# A TOTP code is accepted once: the login needs a code of a later step than
# the one that turned MFA on. At most one step (30 s) to wait.
while [ $(($(now) / STEP)) -le "$ENABLE_STEP" ]; do
  sleep 1
done

say "9. Log in with the authenticator's code. The code used in step 5 is spent," \
  "so wait until the app shows a new one (at most 30 seconds)."
run <<'EOF'
./target/debug/mfa-server totp --secret "$SECRET"
EOF
keep CODE "$(sed -n 's/^code //p' <<<"$LAST")" '<code>'
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/login \
    -H 'Content-Type: application/json' \
    -d "{\"email\": \"alice@example.com\", \"password\": \"correct horse battery staple\", \"mfa-code\": \"$CODE\"}"
EOF
echo

say "10. Log out. The token stops working at once."
run <<'EOF'
curl -s -w '\n' -X POST http://127.0.0.1:3000/api/auth/logout \
    -H "Authorization: Bearer $TOKEN"
EOF
run <<'EOF'
curl -s -w '\n' http://127.0.0.1:3000/api/auth/mfa/status \
    -H "Authorization: Bearer $TOKEN"
EOF
