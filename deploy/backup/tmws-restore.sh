#!/usr/bin/env bash
# Restores a backup made by tmws-backup.sh.
#   tmws-restore.sh BACKUP TARGET
# SQLite (*.db.gz.gpg): TARGET is the new database file (it must not exist; stop the gateway, or
#   restore beside it and point TMWS_DATABASE_URL at the new file).
# PostgreSQL (*.pgdump.gpg): TARGET is the URL of an empty database (pg_restore --no-owner).
# TMWS_BACKUP_PASSPHRASE_FILE: the passphrase the backup was made with.
set -euo pipefail
umask 077
[[ $# -eq 2 ]] || { echo "usage: tmws-restore.sh BACKUP TARGET" >&2; exit 2; }
backup="$1"
target="$2"
: "${TMWS_BACKUP_PASSPHRASE_FILE:?set TMWS_BACKUP_PASSPHRASE_FILE to the file holding the passphrase}"
work="$(mktemp -d)"
export GNUPGHOME="$work/gnupg"
mkdir -m 0700 "$GNUPGHOME"
trap 'rm -rf "$work"' EXIT

decrypt() {
  gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$TMWS_BACKUP_PASSPHRASE_FILE" --decrypt "$backup"
}

case "$backup" in
  *.pgdump.gpg)
    decrypt >"$work/dump"
    pg_restore --no-owner --exit-on-error --dbname "$target" "$work/dump"
    ;;
  *.db.gz.gpg)
    [[ ! -e "$target" ]] || { echo "tmws-restore: $target exists; choose a new file" >&2; exit 1; }
    mkdir -p -m 0700 "$(dirname "$target")"
    decrypt | gunzip >"$work/tmws.db"
    mv "$work/tmws.db" "$target"
    ;;
  *)
    echo "tmws-restore: $backup is neither a *.db.gz.gpg nor a *.pgdump.gpg backup" >&2
    exit 1
    ;;
esac
echo "$target"
