#!/usr/bin/env bash
# Nightly backup of the TMWS Gateway database: a consistent online copy, gzip-compressed and
# encrypted with a passphrase file (gpg, AES-256), then backups older than the retention deleted.
# Run by deploy/systemd/tmws-backup.timer (or cron) with the gateway's environment
# (/etc/tmws/tmws.env: TMWS_DATABASE_URL) and:
#   TMWS_BACKUP_DIR              where backups go (created 0700)
#   TMWS_BACKUP_PASSPHRASE_FILE  the passphrase (one line, owner-only file); keep a copy off the host
#   TMWS_BACKUP_RETENTION_DAYS   default 30
# SQLite: `VACUUM INTO` through the gateway's backup CLI, safe while the gateway writes.
# PostgreSQL: pg_dump --format=custom (also a consistent snapshot). Restore: deploy/backup/tmws-restore.sh.
# Prints the new backup's path.
set -euo pipefail
umask 077

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
install_dir="${TMWS_INSTALL_DIR:-$(cd "$here/../.." && pwd)}"
: "${TMWS_BACKUP_DIR:?set TMWS_BACKUP_DIR to the backup folder}"
: "${TMWS_BACKUP_PASSPHRASE_FILE:?set TMWS_BACKUP_PASSPHRASE_FILE to a file holding the encryption passphrase}"
retention_days="${TMWS_BACKUP_RETENTION_DAYS:-30}"
database_url="${TMWS_DATABASE_URL:-sqlite:///./data/tmws.db}"

[[ -r "$TMWS_BACKUP_PASSPHRASE_FILE" ]] || { echo "tmws-backup: cannot read $TMWS_BACKUP_PASSPHRASE_FILE" >&2; exit 1; }
[[ -s "$TMWS_BACKUP_PASSPHRASE_FILE" ]] || { echo "tmws-backup: $TMWS_BACKUP_PASSPHRASE_FILE is empty" >&2; exit 1; }
[[ "$retention_days" =~ ^[1-9][0-9]*$ ]] || { echo "tmws-backup: TMWS_BACKUP_RETENTION_DAYS must be a whole number of days" >&2; exit 1; }
mkdir -p -m 0700 "$TMWS_BACKUP_DIR"

work="$(mktemp -d "$TMWS_BACKUP_DIR/.work-XXXXXX")"
# gpg wants a home for its keyring even for symmetric encryption; a private one, removed afterwards.
export GNUPGHOME="$work/gnupg"
mkdir -m 0700 "$GNUPGHOME"
trap 'rm -rf "$work"' EXIT

encrypt() {
  gpg --batch --quiet --yes --pinentry-mode loopback --passphrase-file "$TMWS_BACKUP_PASSPHRASE_FILE" \
    --symmetric --cipher-algo AES256 --compress-algo none --output "$1"
}

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
case "$database_url" in
  postgres://* | postgresql://*)
    target="$TMWS_BACKUP_DIR/tmws-$stamp.pgdump.gpg"
    pg_dump --format=custom --no-owner "$database_url" | encrypt "$work/out"
    ;;
  *)
    target="$TMWS_BACKUP_DIR/tmws-$stamp.db.gz.gpg"
    if [[ -f "$install_dir/dist/cli/backup.js" ]]; then
      node "$install_dir/dist/cli/backup.js" --out "$work/tmws.db" >/dev/null
    else # a source checkout without a build
      (cd "$install_dir" && node --import tsx src/cli/backup.ts --out "$work/tmws.db") >/dev/null
    fi
    gzip -c "$work/tmws.db" | encrypt "$work/out"
    ;;
esac
# Complete or absent: a backup appears under its name only once fully written.
mv "$work/out" "$target"

find "$TMWS_BACKUP_DIR" -maxdepth 1 -type f -name 'tmws-*.gpg' -mmin "+$((retention_days * 1440))" -delete
echo "$target"
