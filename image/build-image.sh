#!/bin/sh
# An OCI image of privatemoded, built from our own Debian package:
#
#	image/build-image.sh [-r ROOT.tar] DEB OUT.tar
#
#  1. mmdebstrap makes a Debian 12 root (variant "essential") from
#     deb.debian.org (bookworm, bookworm-updates, bookworm-security) with
#     DEB installed in it by dpkg and apt, as on a host: its maintainer
#     scripts run, its dependencies come from the archive.  The user
#     "privatemode" is made first with a fixed uid and gid (IMAGE_UID,
#     10001), so the image's USER is numeric (Kubernetes' runAsNonRoot can
#     only check a number) and the same in every build.  With -r, the
#     root is kept in ROOT.tar and taken from there when it exists (a test
#     that builds twice); it must have been made from the same DEB.
#  2. The image's root is only what the daemon needs at run time: the
#     files of privatemoded and of the packages its Depends: reach
#     (libc, OpenSSL, libevent, ...), ca-certificates' bundle, minimal
#     /etc/passwd, /etc/group and /etc/nsswitch.conf, the workspace
#     (/var/lib/privatemode, the user's) and the children's chroot
#     (/run/privatemoded/empty, root's), a dpkg status file naming exactly
#     the packages whose files are there (for image scanners), and each
#     package's copyright file.  No shell, no dpkg, no apt, no manual
#     pages or other documentation, no iconv modules (gconv: the daemon
#     converts no character set), no single CA certificates (the bundle
#     ca-certificates generated at install is what the daemon reads).
#  3. /usr/sbin/privatemoded gets the file capability cap_sys_chroot=ep:
#     container runtimes do not hand a capability to a non-root user's
#     process across its exec (no ambient set), so that is how the
#     daemon, started directly as uid IMAGE_UID, gets the one capability
#     its workers and key daemons need to chroot (docs/CONTAINERS.md).
#  4. umoci writes an OCI image layout with one layer; every mtime, the
#     image's creation time and its history are SOURCE_DATE_EPOCH (by
#     default the newest mtime in DEB, i.e. its debian/changelog date), so
#     the same DEB and the same archive contents give the same digests.
#  5. OUT.tar is that layout in a tar (sorted, fixed mtimes and owners),
#     with a docker-archive manifest.json next to index.json: "podman
#     load", "docker load" and "ctr images import" all take it.
#
# Needs root (mmdebstrap's root mode, file ownership, setcap), mmdebstrap,
# umoci, setcap (libcap2-bin), python3 and the network to deb.debian.org.
# IMAGE_MIRROR replaces http://deb.debian.org.
set -eu

usage() {
	echo "usage: image/build-image.sh [-r ROOT.tar] DEB OUT.tar" >&2
	exit 2
}
die() {
	echo "build-image: $*" >&2
	exit 1
}

root_tar=
while getopts r: o; do
	case $o in
	r) root_tar=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
[ -f "$1" ] || die "$1: no such file"
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap's root mode, file owners, setcap)"
for t in mmdebstrap umoci setcap getcap python3 dpkg-deb dpkg-query tar; do
	command -v "$t" >/dev/null 2>&1 ||
		die "$t not found: apt-get install mmdebstrap umoci libcap2-bin python3 (scripts/install-deps)"
done

IMAGE_UID=${IMAGE_UID:-10001}
MIRROR=${IMAGE_MIRROR:-http://deb.debian.org}
SUITE=bookworm
pkg=$(dpkg-deb -f "$deb" Package)
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
[ "$pkg" = privatemoded ] || die "$deb is not the privatemoded package"
# The .deb's own timestamp: dpkg-buildpackage clamps every mtime in it to
# its changelog's date.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(dpkg-deb --fsys-tarfile "$deb" |
	    TZ=UTC tar -tv --full-time | awk '{ print $4 "T" $5 "Z" }' |
	    sort | tail -1 | xargs -I{} date -u -d {} +%s)
fi
export SOURCE_DATE_EPOCH
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
tag=$version

W=$(mktemp -d "${TMPDIR:-/tmp}/pm-image.XXXXXX")
[ -n "${KEEP_TMP:-}" ] && echo "build-image: keeping $W" || trap 'rm -rf "$W"' EXIT
t0=$(date +%s)

# --- 1. the Debian root -----------------------------------------------------
if [ -n "$root_tar" ] && [ -s "$root_tar" ]; then
	echo "build-image: reusing the Debian root $root_tar"
else
	echo "build-image: mmdebstrap $SUITE from $MIRROR with $(basename "$deb")"
	# The .deb must be at the same path inside the chroot for dpkg:
	# mmdebstrap's own hook copies it in and removes it afterwards.
	chmod a+r "$deb"
	# The account, before the package: its sysusers.d entry then finds
	# it and leaves it as it is.  Run by mmdebstrap with the root's path.
	{
		echo '#!/bin/sh'
		echo 'set -e'
		echo "grep -q '^privatemode:' \"\$1/etc/group\" ||"
		echo "	echo 'privatemode:x:$IMAGE_UID:' >>\"\$1/etc/group\""
		echo "grep -q '^privatemode:' \"\$1/etc/passwd\" ||"
		echo "	echo 'privatemode:x:$IMAGE_UID:$IMAGE_UID:privatemoded encryption proxy:/var/lib/privatemode:/usr/sbin/nologin' >>\"\$1/etc/passwd\""
	} >"$W/user-hook"
	chmod 0755 "$W/user-hook"
	mmdebstrap --mode=root --variant=essential --architectures="$arch" \
	    --include=systemd-standalone-sysusers --include="$deb" \
	    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
	    --aptopt='Acquire::Languages "none"' \
	    --essential-hook="$W/user-hook" \
	    "$SUITE" "$W/root.tar" \
	    "deb $MIRROR/debian $SUITE main" \
	    "deb $MIRROR/debian $SUITE-updates main" \
	    "deb $MIRROR/debian-security $SUITE-security main" \
	    >"$W/mmdebstrap.log" 2>&1 || {
		tail -40 "$W/mmdebstrap.log" >&2
		die "mmdebstrap failed"
	}
	if [ -n "$root_tar" ]; then
		cp "$W/root.tar" "$root_tar"
	fi
	root_tar_in=$W/root.tar
fi
[ -n "${root_tar_in:-}" ] || root_tar_in=$root_tar
mkdir "$W/full"
tar -C "$W/full" --numeric-owner -xf "$root_tar_in"
R=$W/full
got=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' privatemoded 2>/dev/null) ||
	die "privatemoded is not installed in the Debian root"
[ "$got" = "$version" ] ||
	die "the Debian root has privatemoded $got, not $version (a stale -r $root_tar?)"

# --- 2. what the daemon needs ---------------------------------------------
# The packages privatemoded's Depends: reach.  Not followed: what only a
# package's maintainer scripts need (ca-certificates' openssl and
# debconf: its bundle is generated already) and the sysusers provider.
q() { dpkg-query --admindir="$R/var/lib/dpkg" "$@"; }
installed() { q -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
closure=
todo=privatemoded
while [ -n "$todo" ]; do
	set -- $todo
	p=$1
	shift
	todo=$*
	case " $closure " in *" $p "*) continue ;; esac
	closure="$closure $p"
	[ "$p" != ca-certificates ] || continue
	deps=$(q -W -f='${Pre-Depends}, ${Depends}' "$p" | tr ',' '\n' |
	    sed 's/([^)]*)//g; s/:any//g; s/^ *//; s/ *$//')
	for alts in $(echo "$deps" | tr ' ' '_'); do
		alts=$(echo "$alts" | tr '_' ' ' | tr '|' ' ')
		case " $alts " in *" systemd "*) continue ;; esac
		pick=
		for a in $alts; do
			if installed "$a"; then pick=$a; break; fi
		done
		[ -n "$pick" ] || die "$p: none of \"$alts\" is installed"
		todo="$todo $pick"
	done
done
closure=$(echo $closure | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "build-image: packages in the image: $closure"

{
	for p in $closure; do
		q -L "$p"
	done | grep -Ev '^/usr/share/(doc|man|info|locale|lintian|bug|doc-base|gdb|gcc)(/|$)' |
	    grep -Ev '^/usr/lib/[^/]+/gconv(/|$)|^/usr/share/ca-certificates(/|$)' |
	    grep -v '^/\.$'
	for p in $closure; do
		d=/usr/share/doc/$p
		[ -e "$R$d/copyright" ] && printf '%s\n%s\n' "$d" "$d/copyright"
	done
	echo /usr/share/doc
	# merged /usr: the links mmdebstrap made, not owned by a package
	for l in /bin /sbin /lib /lib32 /lib64 /libx32 /var/run; do
		[ -L "$R$l" ] && echo "$l"
	done
	echo /etc/ssl/certs/ca-certificates.crt
	echo /var/lib/privatemode
	echo /etc/privatemode
	echo /etc/privatemode/amd
} | sed 's|^/||' | sort -u >"$W/files"
# Each path with its directories resolved in the root (the packages name
# /lib/..., which merged /usr makes /usr/lib/...), only what exists (dpkg
# -L lists diverted and removed paths too), parents before children.
python3 - "$R" "$W/files" >"$W/files.ok" <<'EOF'
import os, sys
root = os.path.realpath(sys.argv[1])
out = set()
for line in open(sys.argv[2]):
    f = line.rstrip("\n")
    d = os.path.realpath(os.path.join(root, os.path.dirname(f)))
    if d != root and not d.startswith(root + "/"):
        sys.exit("build-image: %s leaves the root" % f)
    p = os.path.join(d, os.path.basename(f))
    if os.path.lexists(p):
        out.add(os.path.relpath(p, root))
for p in sorted(out):
    print(p)
EOF
mkdir "$W/rootfs"
tar -C "$R" --no-recursion --numeric-owner -cf - -T "$W/files.ok" |
	tar -C "$W/rootfs" --numeric-owner -xpf -
F=$W/rootfs
# The parents tar made on its own (owned by root, mode from the umask).
for d in etc run tmp var var/lib var/lib/dpkg usr usr/share/doc proc sys dev; do
	mkdir -p "$F/$d"
done
chmod 0755 "$F/etc" "$F/run" "$F/var" "$F/var/lib" "$F/usr" "$F/proc" "$F/sys" "$F/dev"
chmod 1777 "$F/tmp"
# The children's chroot: root's, empty, writable by nobody else.
install -d -m 0755 -o 0 -g 0 "$F/run/privatemoded" "$F/run/privatemoded/empty"
# The workspace, the user's; the config and AMD override directories as
# the package's postinst makes them.
install -d -m 0750 -o "$IMAGE_UID" -g "$IMAGE_UID" "$F/var/lib/privatemode"
install -d -m 0750 -o 0 -g "$IMAGE_UID" "$F/etc/privatemode"
install -d -m 0755 -o 0 -g 0 "$F/etc/privatemode/amd"
[ -f "$F/etc/privatemode.conf" ] || die "no /etc/privatemode.conf in the package"
# Accounts and name service: only what the daemon looks up.
printf '%s\n' "root:x:0:0:root:/root:/usr/sbin/nologin" \
    "privatemode:x:$IMAGE_UID:$IMAGE_UID:privatemoded encryption proxy:/var/lib/privatemode:/usr/sbin/nologin" \
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" >"$F/etc/passwd"
printf '%s\n' "root:x:0:" "privatemode:x:$IMAGE_UID:" "nogroup:x:65534:" >"$F/etc/group"
printf '%s\n' "passwd: files" "group: files" "hosts: files dns" >"$F/etc/nsswitch.conf"
chmod 0644 "$F/etc/passwd" "$F/etc/group" "$F/etc/nsswitch.conf"
grep -q "^privatemode:x:$IMAGE_UID:$IMAGE_UID:" "$R/etc/passwd" ||
	die "the package's postinst did not keep the user privatemode at uid $IMAGE_UID: $(grep '^privatemode:' "$R/etc/passwd")"
# os-release for scanners and people (base-files is not in the image).
cp -p "$R/usr/lib/os-release" "$F/usr/lib/os-release"
ln -sf ../usr/lib/os-release "$F/etc/os-release"
# dpkg's status, only the packages whose files are here.
python3 - "$R/var/lib/dpkg/status" "$F/var/lib/dpkg/status" $closure <<'EOF'
import sys
src, dst, keep = sys.argv[1], sys.argv[2], set(sys.argv[3:])
paras = open(src, encoding="utf-8").read().strip().split("\n\n")
out = [p for p in paras
       if next((l.split(":", 1)[1].strip() for l in p.splitlines()
                if l.startswith("Package:")), None) in keep]
if len(out) != len(keep):
    sys.exit("build-image: dpkg status: %d of %d packages" % (len(out), len(keep)))
open(dst, "w", encoding="utf-8").write("\n\n".join(out) + "\n")
EOF
chmod 0644 "$F/var/lib/dpkg/status"
for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash; do
	[ ! -e "$F/$sh" ] || die "a shell is in the image: /$sh"
done
# 3. The one capability, as a file capability (see the head).
setcap cap_sys_chroot=ep "$F/usr/sbin/privatemoded"
getcap "$F/usr/sbin/privatemoded" | grep -q 'cap_sys_chroot[=+]ep' ||
	die "setcap did not take on $F/usr/sbin/privatemoded"
# Every mtime: SOURCE_DATE_EPOCH.
find "$F" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# --- 4. the OCI layout -----------------------------------------------------
L=$W/oci
umoci init --layout "$L"
umoci new --image "$L:$tag"
umoci insert --image "$L:$tag" --history.created="$created" \
    --history.created_by="image/build-image.sh $(basename "$deb")" \
    --history.comment="Debian $SUITE root of the packages privatemoded depends on" \
    "$F" /
umoci config --image "$L:$tag" --no-history --created="$created" \
    --author="privatemoded developers" --os=linux --architecture="$arch" \
    --config.user="$IMAGE_UID:$IMAGE_UID" \
    --config.entrypoint=/usr/sbin/privatemoded --config.entrypoint=-F \
    --config.cmd=--apiKey=@/run/secrets/privatemode/api-key \
    --config.workingdir=/ \
    --config.exposedports=8080/tcp --config.exposedports=9464/tcp \
    --config.volume=/var/lib/privatemode \
    --config.stopsignal=SIGTERM \
    --config.label=org.opencontainers.image.title=privatemoded \
    --config.label=org.opencontainers.image.version="$version" \
    --config.label=org.opencontainers.image.created="$created" \
    --config.label=org.opencontainers.image.description="Privatemode confidential AI encryption proxy" \
    --manifest.annotation=org.opencontainers.image.version="$version" \
    --manifest.annotation=org.opencontainers.image.created="$created"
umoci gc --layout "$L"

# --- 5. one tar: OCI layout plus docker's manifest.json --------------------
python3 - "$L" "privatemoded:$tag" <<'EOF'
import json, os, sys
layout, ref = sys.argv[1], sys.argv[2]
def blob(d):
    algo, hexd = d.split(":", 1)
    return "blobs/%s/%s" % (algo, hexd)
idx = json.load(open(os.path.join(layout, "index.json")))
if len(idx["manifests"]) != 1:
    sys.exit("build-image: %d manifests in the layout" % len(idx["manifests"]))
man = json.load(open(os.path.join(layout, blob(idx["manifests"][0]["digest"]))))
dm = [{"Config": blob(man["config"]["digest"]), "RepoTags": [ref],
       "Layers": [blob(l["digest"]) for l in man["layers"]]}]
with open(os.path.join(layout, "manifest.json"), "w") as f:
    json.dump(dm, f, separators=(",", ":"))
EOF
find "$L" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$L" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) >"$W/layout.list"
tar -C "$L" --format=ustar --no-recursion --numeric-owner --owner=0 --group=0 \
    --mode='u+rw,go+r,go-w' --mtime="@$SOURCE_DATE_EPOCH" \
    -cf "$W/out.tar" -T "$W/layout.list"
mv "$W/out.tar" "$out"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$L/index.json")
size=$(du -sk "$F" | cut -f1)
echo "build-image: $out: privatemoded:$tag, manifest $digest, root $size KiB unpacked, archive $(($(stat -c %s "$out") / 1024)) KiB, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, $(($(date +%s) - t0)) s"
