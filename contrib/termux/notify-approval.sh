#!/data/data/com.termux/files/usr/bin/sh
# approvals.notifier for Termux: a notification with the same choices as the
# web page: Approve once / Grant for this job (the shape leash suggests) / Deny.
# config.yaml:
#   approvals:
#     notifier: [/data/data/com.termux/files/home/.local/bin/notify-approval.sh]
# leash runs it as: notify-approval.sh ID NONCE SUMMARY (also in LEASH_APPROVAL_*
# variables, with LEASH_BIN = the absolute path of leash). Notification
# buttons run without your PATH, so everything here is an absolute path.
# Deny asks for a reason in a termux-dialog (told to the model).
# leash has this notifier built in, with every word quoted: set
#   notifier: termux-notification
# (the bare program name, no arguments) to use it instead of this script.
set -eu
id="$1"; nonce="$2"; summary="$3"
leash="${LEASH_BIN:-$PREFIX/bin/leash}"
config_arg=""
[ -n "${LEASH_CONFIG:-}" ] && config_arg="--config $LEASH_CONFIG"
exec "$PREFIX/bin/termux-notification" \
  --id "leash-approval-$id" \
  --title "leash: approval $id" \
  --content "$summary" \
  --button1 "Approve once" \
  --button1-action "$leash $config_arg approve $id --nonce $nonce --via termux" \
  --button2 "Grant for this job" \
  --button2-action "$leash $config_arg approve $id --nonce $nonce --via termux --grant --scope job" \
  --button3 "Deny…" \
  --button3-action "$leash $config_arg deny $id --nonce $nonce --via termux --reason-dialog $PREFIX/bin/termux-dialog"
