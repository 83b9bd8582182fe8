#!/bin/bash
# The OCI image, end to end, as far as this machine allows (tier
# "package", root, about three minutes; no container engine runs here):
#  1. build privatemoded_*.deb from a copy of the tree (no build-time
#     tests: install.sh runs those), or take PM_IMAGE_DEB;
#  2. image/build-image.sh twice from one Debian root (mmdebstrap once):
#     the two archives must be identical (same .deb, same root -> same
#     digests);
#  3. read the archive as docker and podman would (index.json,
#     manifest.json, the image config) and unpack it with umoci: numeric
#     USER of the privatemode account, exec-form entrypoint, the daemon's
#     file capability, the empty root-owned chroot, the workspace, no
#     shell, no package manager, no manual pages, a dpkg status for the
#     packages that are there, the size;
#  4. run the image's root as a runtime would run the Deployment of
#     deploy/k8s: fresh mount, PID, IPC and UTS namespaces (the host's
#     network, so loopback reaches the simulator), the root filesystem
#     read-only, the ConfigMap's file, the Secret's key file and the
#     workspace emptyDir mounted where the Deployment mounts them, /proc,
#     a minimal /dev; then, as runc does for a non-root user, the
#     bounding set cut to the Deployment's capabilities.add, the ids
#     switched with those capabilities kept permitted and effective (no
#     ambient ones), no_new_privs (allowPrivilegeEscalation: false), and
#     the image's entrypoint with the Deployment's args exec'd as PID 1:
#     a. the image's own (production) binary against tests/sim: it cannot
#        attest the simulator (not AMD's chain), so: the process tree
#        (uid, CAP_SYS_CHROOT only, chrooted children, keyd's seccomp),
#        /healthz 200, /readyz 503, /metrics, JSON logs on stderr,
#        SIGTERM -> exit 0;
#     b. this tree's --enable-test-hooks build in the binary's place (same
#        file capability), trusting the simulator's chain: /readyz 200
#        (attested), /v1/models, a chat completion, and SIGTERM with a
#        stream in flight: the stream ends with [DONE] and the daemon
#        exits 0.
# KEEP_TMP=1 keeps the work directory.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
. "$PM_TOP_SRCDIR/tests/sim/simlib.sh"
require_tier package
[ "$(id -u)" -eq 0 ] || skip "needs root (mmdebstrap, file ownership, namespaces)"
require_debian
for t in dpkg-buildpackage unshare mount setpriv curl python3 setcap getcap sha256sum; do
	require_tool "$t"
done
for t in mmdebstrap umoci; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "$t is not installed (scripts/install-deps installs it: apt-get install $t)"
done
. "$TOP_SRC/tests/nodecompat.sh"
node_find || skip "node not found (the simulated deployment needs it)"
for m in @hpke/core yaml; do
	[ -f "$TOP_SRC/tests/node_modules/$m/package.json" ] ||
		fail "tests/node_modules/$m missing: run 'cd tests && npm ci'"
done
unshare --mount --pid --fork true 2>/dev/null ||
	skip "cannot create mount and PID namespaces here"

# The unpacked root must be on a file system mounted without nosuid: there
# the kernel ignores file capabilities, and the image's daemon gets its
# CAP_SYS_CHROOT from one (a container's /tmp is often nosuid).
base=
for d in "${TMPDIR:-/tmp}" /var/tmp "$TOP_BUILD"; do
	[ -d "$d" ] || continue
	case ,$(findmnt -n -o OPTIONS --target "$d" 2>/dev/null), in
	*,nosuid,*) continue ;;
	esac
	base=$d
	break
done
[ -n "$base" ] || fail "no directory outside a nosuid mount for the image's root (tried ${TMPDIR:-/tmp}, /var/tmp, $TOP_BUILD)"
T=$(mktemp -d "$base/pm-image.XXXXXX")
chmod 755 "$T"
SIM_PID=
NS_PID=
PM_PID=
CURL_PID=
cleanup() {
	local st=$? p
	for p in "$PM_PID" "$NS_PID"; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	done
	for p in "$SIM_PID" "$CURL_PID"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	cleanup_tmp $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t0=$(date +%s)

# --- 1. the .deb ------------------------------------------------------------
if [ -n "${PM_IMAGE_DEB:-}" ]; then
	deb=$PM_IMAGE_DEB
	[ -f "$deb" ] || fail "PM_IMAGE_DEB=$deb: no such file"
	note "using $deb"
else
	# nocheck: the package's own test run is install.sh's business.
	build_deb "$T" "parallel=2 nocheck"
	deb=$DEB
	rm -rf "$T/src"
	note "built $(basename "$deb") in $(($(date +%s) - t0)) s"
fi
version=$(dpkg-deb -f "$deb" Version)

# --- 2. the image, twice from one root ------------------------------------
t1=$(date +%s)
sh "$TOP_SRC/image/build-image.sh" -r "$T/root.tar" "$deb" "$T/image1.tar" \
    >"$T/image1.log" 2>&1 || { cat "$T/image1.log" >&2; fail "image/build-image.sh failed"; }
t2=$(date +%s)
sh "$TOP_SRC/image/build-image.sh" -r "$T/root.tar" "$deb" "$T/image2.tar" \
    >"$T/image2.log" 2>&1 || { cat "$T/image2.log" >&2; fail "image/build-image.sh failed the second time"; }
grep -q "reusing the Debian root" "$T/image2.log" || bad "the second build did not reuse the Debian root"
s1=$(sha256sum <"$T/image1.tar" | cut -d' ' -f1)
s2=$(sha256sum <"$T/image2.tar" | cut -d' ' -f1)
[ "$s1" = "$s2" ] || bad "two builds from the same .deb and root differ: $s1 vs $s2"
note "$(tail -1 "$T/image1.log" | sed 's/^build-image: //') (first build, mmdebstrap included: $((t2 - t1)) s; the second: identical archive, $(($(date +%s) - t2)) s)"
rm -f "$T/image2.tar" "$T/root.tar"

# --- 3. the archive, as the engines read it ------------------------------
mkdir "$T/layout"
tar -C "$T/layout" -xf "$T/image1.tar" || fail "the archive does not unpack"
python3 - "$T/layout" "$version" >"$T/image.facts" <<'EOF' || fail "the archive's layout: $(cat "$T/image.facts")"
import json, os, sys, hashlib
L, version = sys.argv[1], sys.argv[2]
def fail(m):
    print(m); sys.exit(1)
def blob(d):
    p = os.path.join(L, "blobs", *d.split(":", 1))
    data = open(p, "rb").read()
    if "sha256:" + hashlib.sha256(data).hexdigest() != d:
        fail("blob %s does not match its digest" % d)
    return data
if json.load(open(os.path.join(L, "oci-layout")))["imageLayoutVersion"] != "1.0.0":
    fail("oci-layout: not 1.0.0")
idx = json.load(open(os.path.join(L, "index.json")))
if len(idx["manifests"]) != 1:
    fail("index.json: %d manifests" % len(idx["manifests"]))
m = idx["manifests"][0]
if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != version:
    fail("index.json: ref.name is not %s" % version)
man = json.loads(blob(m["digest"]))
cfgd = man["config"]["digest"]
cfg = json.loads(blob(cfgd))
for l in man["layers"]:
    blob(l["digest"])
dm = json.load(open(os.path.join(L, "manifest.json")))
if (len(dm) != 1 or dm[0]["RepoTags"] != ["privatemoded:" + version] or
        dm[0]["Config"] != "blobs/sha256/" + cfgd.split(":")[1] or
        dm[0]["Layers"] != ["blobs/sha256/" + l["digest"].split(":")[1] for l in man["layers"]]):
    fail("manifest.json (docker load) does not match the OCI manifest: %s" % dm)
c = cfg["config"]
print("user=%s" % c.get("User", ""))
print("entrypoint=%s" % json.dumps(c.get("Entrypoint")))
print("cmd=%s" % json.dumps(c.get("Cmd")))
print("ports=%s" % " ".join(sorted(c.get("ExposedPorts", {}))))
print("volumes=%s" % " ".join(sorted(c.get("Volumes", {}))))
print("os_arch=%s/%s" % (cfg["os"], cfg["architecture"]))
print("created=%s" % cfg.get("created"))
print("layers=%d" % len(man["layers"]))
print("manifest=%s" % m["digest"])
EOF
fact() { sed -n "s/^$1=//p" "$T/image.facts"; }
[ "$(fact user)" = "10001:10001" ] || bad "the image's USER is '$(fact user)', want 10001:10001 (numeric, for runAsNonRoot)"
[ "$(fact entrypoint)" = '["/usr/sbin/privatemoded", "-F"]' ] ||
	bad "the image's entrypoint is $(fact entrypoint), want the daemon itself in exec form, in the foreground"
[ "$(fact cmd)" = '["--apiKey=@/run/secrets/privatemode/api-key"]' ] ||
	bad "the image's default arguments are $(fact cmd)"
[ "$(fact ports)" = "8080/tcp 9464/tcp" ] || bad "exposed ports: $(fact ports)"
[ "$(fact volumes)" = "/var/lib/privatemode" ] || bad "volumes: $(fact volumes)"
[ "$(fact layers)" = 1 ] || bad "$(fact layers) layers, want 1"

umoci unpack --image "$T/layout:$version" "$T/bundle" >"$T/unpack.log" 2>&1 ||
	{ cat "$T/unpack.log" >&2; fail "umoci unpack failed"; }
R=$T/bundle/rootfs
cfg_json=$T/bundle/config.json
[ "$(stat -c '%u:%g' "$R/usr/sbin/privatemoded")" = 0:0 ] || bad "/usr/sbin/privatemoded is not root's"
getcap "$R/usr/sbin/privatemoded" | grep -q 'cap_sys_chroot=ep$' ||
	bad "the image's daemon has no file capability cap_sys_chroot=ep: $(getcap "$R/usr/sbin/privatemoded")"
[ "$(stat -c '%a %u:%g' "$R/run/privatemoded/empty")" = "755 0:0" ] ||
	bad "/run/privatemoded/empty is $(stat -c '%a %u:%g' "$R/run/privatemoded/empty"), want 755 root's"
[ -z "$(ls -A "$R/run/privatemoded/empty")" ] || bad "/run/privatemoded/empty is not empty"
[ "$(stat -c '%a %u:%g' "$R/var/lib/privatemode")" = "750 10001:10001" ] ||
	bad "the workspace is $(stat -c '%a %u:%g' "$R/var/lib/privatemode")"
grep -qx 'privatemode:x:10001:10001:[^:]*:/var/lib/privatemode:/usr/sbin/nologin' "$R/etc/passwd" ||
	bad "no privatemode account with uid 10001 in the image's /etc/passwd"
for f in bin/sh bin/bash bin/dash usr/bin/dpkg usr/bin/apt usr/bin/perl usr/share/man \
    usr/share/ca-certificates usr/lib/x86_64-linux-gnu/gconv; do
	[ ! -e "$R/$f" ] && [ ! -L "$R/$f" ] || bad "/$f is in the image"
done
[ -s "$R/etc/ssl/certs/ca-certificates.crt" ] || bad "no CA bundle in the image"
[ -f "$R/etc/privatemode.conf" ] || bad "no /etc/privatemode.conf (the package's conffile)"
[ -f "$R/usr/share/doc/libssl3/copyright" ] || bad "the packages' copyright files are missing"
st=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' privatemoded 2>/dev/null)
[ "$st" = "$version" ] || bad "the image's dpkg status says privatemoded '$st', want $version"
missing=$(ldd "$R/usr/sbin/privatemoded" | awk '$3 ~ /^\// { print $3 }' | while read -r l; do
	[ -e "$R$(readlink -f "$l")" ] || [ -e "$R$l" ] || echo "$l"
done)
[ -z "$missing" ] || bad "libraries the daemon links are not in the image: $missing"
size_k=$(du -sk "$R" | cut -f1)
[ "$size_k" -lt 32768 ] || bad "the image's root is $size_k KiB, over 32 MiB"
note "image: $(fact manifest), root $size_k KiB, archive $(($(stat -c %s "$T/image1.tar") / 1024)) KiB, $(fact os_arch), created $(fact created)"

# --- 4. the Deployment's view: args, ids, capabilities, mounts --------------
(cd "$TOP_SRC/tests" && "$NODE" --input-type=module -e '
import { parseAllDocuments } from "yaml";
import { readFileSync, writeFileSync } from "node:fs";
const dir = process.argv[1], out = process.argv[2];
const load = (f) => parseAllDocuments(readFileSync(dir + "/" + f, "utf8")).map((d) => d.toJS());
const [dep] = load("deployment.yaml");
const [cm] = load("configmap.yaml");
const pod = dep.spec.template.spec, c = pod.containers[0];
const mount = (v) => c.volumeMounts.find((m) => m.name === pod.volumes.find((x) => x[v]).name).mountPath;
writeFileSync(out + "/configmap.conf", cm.data["privatemode.conf"]);
const facts = {
	args: JSON.stringify(c.args), uid: pod.securityContext.runAsUser,
	gid: pod.securityContext.runAsGroup, fsgroup: pod.securityContext.fsGroup,
	capadd: c.securityContext.capabilities.add.join(","),
	capdrop: c.securityContext.capabilities.drop.join(","),
	nnp: c.securityContext.allowPrivilegeEscalation === false ? "yes" : "no",
	rofs: c.securityContext.readOnlyRootFilesystem ? "yes" : "no",
	config: mount("configMap"), secret: mount("secret"), workspace: mount("emptyDir"),
	secretmode: pod.volumes.find((x) => x.secret).secret.defaultMode.toString(8),
};
writeFileSync(out + "/deployment.facts", Object.entries(facts).map(([k, v]) => k + "=" + v).join("\n") + "\n");
' "$TOP_SRC/deploy/k8s" "$T") || fail "cannot read deploy/k8s"
dfact() { sed -n "s/^$1=//p" "$T/deployment.facts"; }
[ "$(dfact uid):$(dfact gid)" = "$(fact user)" ] ||
	bad "the Deployment runs as $(dfact uid):$(dfact gid), the image as $(fact user)"
[ "$(dfact capdrop)" = ALL ] && [ "$(dfact capadd)" = SYS_CHROOT ] ||
	bad "the Deployment's capabilities: drop $(dfact capdrop), add $(dfact capadd)"
[ "$(dfact nnp)" = yes ] && [ "$(dfact rofs)" = yes ] ||
	bad "the Deployment allows privilege escalation or a writable root"
[ "$(dfact workspace)" = /var/lib/privatemode ] || bad "the emptyDir is at $(dfact workspace), not the workspace"
# The Deployment's arguments name its own mounts.
args=$(dfact args)
[[ $args == *"\"$(dfact config)/privatemode.conf\""* ]] ||
	bad "the Deployment's args ($args) do not name the ConfigMap's file under $(dfact config)"
[[ $args == *"\"--apiKey=@$(dfact secret)/api-key\""* ]] ||
	bad "the Deployment's args ($args) do not read the key from the Secret under $(dfact secret)"

# --- 5. run it as a runtime runs the Deployment --------------------------
mkdir -p "$T/sim"
sim_start "$NODE" "$TOP_SRC" "$T/sim.json" --state-dir "$T/sim" --quiet \
    --stream-chunks 6 --chunk-interval-ms 300 2>"$T/sim.err" ||
	{ cat "$T/sim.err" >&2; fail "simulator did not start"; }
uid=$(dfact uid)
gid=$(dfact gid)
# The ConfigMap's file and what only this test adds: the simulator's
# origins and CA (next to the file), loopback listeners on free ports,
# one worker; the keys it replaces are taken out (a key given twice is
# an error).
mkdir -m 0755 "$T/config" "$T/secret"
install -m 0644 "$(sim_field ca_file)" "$T/config/sim-ca.pem"
install -m 0644 "$(sim_field trust_anchors.Genoa.cert_chain)" "$T/config/genoa-cert-chain.pem"
grep -Ev '^(listen|metrics_listen|workers)[[:space:]]' "$T/configmap.conf" >"$T/config/base.conf"
{
	cat "$T/config/base.conf"
	echo "# tests/ops/image.sh: the simulated deployment"
	echo "api_endpoint $(sim_field api_endpoint)"
	echo "cdn_base_url $(sim_field cdn_base_url)"
	echo "ca_file $(dfact config)/sim-ca.pem"
	echo "test_kds_base_url $(sim_field kds_base_url)"
	echo "listen 127.0.0.1:0"
	echo "metrics_listen 127.0.0.1:0"
	echo "workers 1"
} >"$T/config/privatemode.conf"
chmod 0644 "$T/config/privatemode.conf"
# The Secret's file: root's, group fsGroup, defaultMode.
sim_field api_key >"$T/secret/api-key"
chown "0:$(dfact fsgroup)" "$T/secret/api-key"
chmod "$(dfact secretmode)" "$T/secret/api-key"
# Mount points a runtime makes in the container's root.
mkdir -p "$R$(dfact config)" "$R$(dfact secret)"
: >"$R/etc/hosts"
: >"$R/etc/resolv.conf"

# runc's last steps for a non-root user, from the bundle's config.json
# (env, cwd) and the Deployment (ids, capabilities): in the container's
# root, bounding set = capabilities.add, keep capabilities across the id
# switch, permitted = effective = capabilities.add, no inheritable or
# ambient ones, no_new_privs, exec.
cat >"$T/oci-exec.py" <<'EOF'
import ctypes, json, os, sys
root, spec, uid, gid, groups, caps = sys.argv[1:7]
argv = sys.argv[7:]
names = {"SYS_CHROOT": 18, "NET_BIND_SERVICE": 10}
keep = [names[c] for c in caps.split(",") if c]
libc = ctypes.CDLL(None, use_errno=True)
def prctl(*a):
    if libc.prctl(*[ctypes.c_ulong(x) for x in a]) != 0:
        raise OSError(ctypes.get_errno(), "prctl %r" % (a,))
class Hdr(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]
proc = json.load(open(spec))["process"]
os.chroot(root)
os.chdir(proc.get("cwd", "/"))
last = int(open("/proc/sys/kernel/cap_last_cap").read())
for c in range(last + 1):
    if c not in keep:
        prctl(24, c)                       # PR_CAPBSET_DROP
prctl(8, 1)                                # PR_SET_KEEPCAPS
os.setgroups([int(g) for g in groups.split(",") if g])
os.setresgid(int(gid), int(gid), int(gid))
os.setresuid(int(uid), int(uid), int(uid))
prctl(8, 0)
mask = 0
for c in keep:
    mask |= 1 << c
d = (Data * 2)()
d[0].effective = d[0].permitted = mask & 0xffffffff
d[1].effective = d[1].permitted = mask >> 32
if libc.capset(ctypes.byref(Hdr(0x20080522, 0)), d) != 0:
    raise OSError(ctypes.get_errno(), "capset")
prctl(47, 4, 0, 0, 0)                      # PR_CAP_AMBIENT_CLEAR_ALL
prctl(38, 1, 0, 0, 0)                      # PR_SET_NO_NEW_PRIVS
os.umask(0o022)
env = dict(e.split("=", 1) for e in proc.get("env", []))
os.execve(argv[0], argv, env)
EOF

read -r -a entry < <(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])))' "$(fact entrypoint)")
read -r -a dargs < <(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])))' "$args")

# start_container: sets NS_PID (unshare) and PM_PID (the daemon, PID 1 in
# its namespace).
start_container() {
	[ ! -s "$T/daemon.log" ] || mv "$T/daemon.log" "$T/daemon.$(date +%s%N).log"
	unshare --mount --propagation private --pid --fork --ipc --uts -- /bin/sh -c '
		set -e
		R=$1 CONF=$2 CONFDIR=$3 SEC=$4 SECDIR=$5 UID_=$6
		shift 6
		mount --bind "$R" "$R"
		mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
		mount -t tmpfs -o nosuid,mode=0755 tmpfs "$R/dev"
		for n in null zero full random urandom; do
			: >"$R/dev/$n"
			mount --bind "/dev/$n" "$R/dev/$n"
		done
		mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$R/tmp"
		# the workspace: an emptyDir (mode 0777, group fsGroup)
		mount -t tmpfs -o "nosuid,nodev,mode=2777,gid=$UID_" tmpfs "$R/var/lib/privatemode"
		mount --bind /etc/hosts "$R/etc/hosts"
		mount --bind /etc/resolv.conf "$R/etc/resolv.conf"
		mount --bind "$CONF" "$R$CONFDIR"
		mount -o remount,bind,ro "$R$CONFDIR"
		mount --bind "$SEC" "$R$SECDIR"
		mount -o remount,bind,ro "$R$SECDIR"
		# readOnlyRootFilesystem
		mount -o remount,bind,ro "$R"
		exec python3 "$@"' sh "$R" "$T/config" "$(dfact config)" "$T/secret" \
	    "$(dfact secret)" "$(dfact fsgroup)" \
	    "$T/oci-exec.py" "$R" "$cfg_json" "$uid" "$gid" "$(dfact fsgroup)" \
	    "$(dfact capadd)" "${entry[@]}" "${dargs[@]}" >"$T/daemon.log" 2>&1 &
	NS_PID=$!
	PM_PID=
	is_daemon() {
		kill -0 "$NS_PID" 2>/dev/null || return 0
		PM_PID=$(pgrep -P "$NS_PID" | head -1)
		[ -n "$PM_PID" ] && [ "$(readlink "/proc/$PM_PID/exe" 2>/dev/null)" = "$R/usr/sbin/privatemoded" ]
	}
	wait_until "the daemon's exec" 60 is_daemon || true
	kill -0 "$NS_PID" 2>/dev/null || fail "the container exited at once: $(tail -5 "$T/daemon.log")"
}
wait_listen() {	# prints "api metrics" ports, or "0 0"
	local a m
	listening_or_gone() {
		grep -q 'listening on 127\.0\.0\.1:[0-9]* (metrics)' "$T/daemon.log" ||
		    ! kill -0 "$NS_PID" 2>/dev/null
	}
	wait_until "the listeners" 180 listening_or_gone
	a=$(grep -v '(metrics)' "$T/daemon.log" | sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
	m=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (metrics).*/\1/p' "$T/daemon.log" | head -1)
	echo "${a:-0} ${m:-0}"
}
stop_container() {	# SIGTERM to PID 1; sets STOP_STATUS
	local _
	kill -TERM "$PM_PID"
	for _ in $(seq 1 400); do kill -0 "$NS_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$NS_PID" 2>/dev/null; then
		bad "the container did not exit within 40 s of SIGTERM (terminationGracePeriodSeconds)"
		STOP_STATUS=timeout
		kill -KILL "$PM_PID" 2>/dev/null
	fi
	wait "$NS_PID"
	STOP_STATUS=$?
	NS_PID=
	PM_PID=
}
status_of() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
check_tree() {
	local p role want=0000000000040000
	[ "$(awk '$1 == "NSpid:" { print $NF }' "/proc/$PM_PID/status")" = 1 ] ||
		bad "the daemon is not PID 1 of its namespace"
	[ "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$PM_PID/status")" = "$uid $uid $uid $uid" ] ||
		bad "the parent's uids: $(grep ^Uid: "/proc/$PM_PID/status")"
	for f in CapEff CapPrm CapBnd; do
		[ "$(status_of "$PM_PID" $f)" = $want ] ||
			bad "the parent's $f is $(status_of "$PM_PID" $f), want CAP_SYS_CHROOT only ($want)"
	done
	[ "$(status_of "$PM_PID" NoNewPrivs)" = 1 ] || bad "the parent has no no_new_privs"
	[ "$(pgrep -P "$PM_PID" | wc -l)" -eq 2 ] || bad "the parent has $(pgrep -P "$PM_PID" | wc -l) children, want a worker and a keyd"
	for p in $(pgrep -P "$PM_PID"); do
		role=$(tr '\0' ' ' <"/proc/$p/cmdline" | sed -n 's/.*-T \([a-z]*\).*/\1/p')
		for f in CapEff CapPrm CapInh CapAmb; do
			[ "$(status_of "$p" $f)" = 0000000000000000 ] || bad "$role has capabilities: $f $(status_of "$p" $f)"
		done
		[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$p/status")" = "$uid" ] || bad "$role does not run as $uid"
		[[ $(readlink "/proc/$p/root") == */run/privatemoded/empty ]] ||
			bad "$role is not chrooted into /run/privatemoded/empty (root: $(readlink "/proc/$p/root"))"
		[ "$role" != keyd ] || [ "$(status_of "$p" Seccomp)" = 2 ] || bad "keyd has no seccomp filter"
	done
}

# 5a. The image as built: its production binary cannot attest the
# simulator (its chain is not AMD's): serving, not ready.
t5=$(date +%s)
start_container
read -r port mport < <(wait_listen)
[ "$port" != 0 ] && [ "$mport" != 0 ] || fail "the image's daemon never listened: $(tail -5 "$T/daemon.log")"
url=http://127.0.0.1:$port
healthz() { curl -sf -o /dev/null --max-time 10 "$url/healthz"; }
wait_until "/healthz" 120 healthz || bad "/healthz never answered"
[ "$(curl -s --max-time 10 "$url/healthz")" = '{"status":"ok"}' ] || bad "/healthz: $(curl -s --max-time 10 "$url/healthz")"
check_tree
rz=$(curl -s -o "$T/readyz" -w '%{http_code}' --max-time 10 "$url/readyz")
[ "$rz" = 503 ] && grep -q '"ready":false' "$T/readyz" ||
	bad "the image's binary, unattested: /readyz answered $rz: $(cat "$T/readyz")"
code=$(curl -s -o "$T/metrics" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$mport/metrics")
[ "$code" = 200 ] && grep -q '^privatemode_' "$T/metrics" ||
	bad "/metrics on the metrics port answered $code: $(head -c 200 "$T/metrics")"
"$R/usr/sbin/privatemoded" -V 2>/dev/null | grep -q "test hooks" && bad "the image's binary has test hooks"
# log_format json from the ConfigMap: every line on stderr is an object.
bad_lines=$(python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    try:
        json.loads(l)
    except ValueError:
        n += 1
print(n)' "$T/daemon.log")
[ "$bad_lines" = 0 ] || bad "$bad_lines line(s) of the daemon's stderr are not JSON (log_format json)"
stop_container
[ "$STOP_STATUS" = 0 ] || bad "the image's daemon exited with status $STOP_STATUS after SIGTERM"
note "the image's binary ran as the Deployment runs it (uid $uid, CAP_SYS_CHROOT from its file capability, read-only root), unattested, in $(($(date +%s) - t5)) s"

# 5b. Attested: this tree's test-hooks build in the binary's place.
if ! "$PM_BIN" -V 2>/dev/null | grep -q "test hooks"; then
	note "$PM_BIN has no test hooks: the attested run (chat, stream, drain) is skipped"
else
	t6=$(date +%s)
	install -m 0755 -o 0 -g 0 "$PM_BIN" "$R/usr/sbin/privatemoded"
	setcap cap_sys_chroot=ep "$R/usr/sbin/privatemoded"
	{
		echo "test_trust_any_amd_root yes"
		echo "amd_cert_chain_genoa $(dfact config)/genoa-cert-chain.pem"
	} >>"$T/config/privatemode.conf"
	start_container
	read -r port mport < <(wait_listen)
	[ "$port" != 0 ] || fail "the test-hooks daemon never listened: $(tail -5 "$T/daemon.log")"
	url=http://127.0.0.1:$port
	ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/readyz")" = 200 ]; }
	wait_until "/readyz 200 (attestation)" 300 ready || bad "never attested: $(curl -s --max-time 10 "http://127.0.0.1:$mport/readyz")"
	grep -q '"ready":true' <(curl -s --max-time 10 "$url/readyz") || bad "/readyz does not say ready"
	check_tree
	code=$(curl -s -o "$T/models" -w '%{http_code}' --max-time 30 "$url/v1/models")
	[ "$code" = 200 ] && grep -q '"object":"list"' "$T/models" || bad "/v1/models answered $code: $(head -c 300 "$T/models")"
	chat='{"model":"gpt-oss-120b","messages":[{"role":"user","content":"Hello from the image test"}]}'
	code=$(curl -s -o "$T/chat" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' -d "$chat" "$url/v1/chat/completions")
	[ "$code" = 200 ] && grep -q '"content":"Echo: Hello from the image test"' "$T/chat" ||
		bad "chat completion answered $code: $(head -c 300 "$T/chat")"
	# The workspace (the emptyDir) took the manifest log.
	[ -n "$(ls -A "/proc/$PM_PID/root/var/lib/privatemode" 2>/dev/null)" ] ||
		bad "nothing was written to the workspace emptyDir"
	stream='{"model":"gpt-oss-120b","stream":true,"messages":[{"role":"user","content":"Hello from the image test"}]}'
	curl -sN --max-time 60 -o "$T/stream" -H 'Content-Type: application/json' -d "$stream" "$url/v1/chat/completions" &
	CURL_PID=$!
	wait_until "the stream's first event" 60 grep -qs '^data: ' "$T/stream" || bad "the stream did not start"
	grep -q '^data: \[DONE\]' "$T/stream" && bad "the stream was over before SIGTERM: no drain to see"
	stop_container
	[ "$STOP_STATUS" = 0 ] || bad "the daemon exited with status $STOP_STATUS after SIGTERM"
	wait "$CURL_PID"
	st=$?
	CURL_PID=
	[ $st -eq 0 ] && grep -q '^data: \[DONE\]' "$T/stream" ||
		bad "the stream in flight at SIGTERM was not finished (curl $st): $(tail -c 300 "$T/stream")"
	grep -q 'Echo' "$T/stream" || bad "the stream carried no echo: $(head -c 300 "$T/stream")"
	note "attested in the image's root: /readyz 200, /v1/models, chat, a stream drained on SIGTERM, in $(($(date +%s) - t6)) s"
fi
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=

finish "built the image twice (identical), checked its layout and root, ran it as the Deployment runs it, unattested and attested, in $(($(date +%s) - t0)) s"
