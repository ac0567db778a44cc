#!/usr/bin/env bash
# demo.sh — Watchword's main job on one machine, for a newcomer's first run (`make demo`).
#
# It starts, all on loopback and all throwaway:
#   - a real directory the demo owns without root: OpenLDAP slapd on a free high port, its own CA and data;
#   - a hub (watchword-hub init + serve) with one tenant, "Demo MSP";
#   - an agent (watchword-agent enroll + run) managing that directory;
#   - the Console, connected to the hub as an admin;
#   - two TechClients: alice, an MSP tech (approved at once), and bob, a co-managed tech of Contoso Ltd, pending.
# Then it prints what to click: onboard Contoso Ltd in the Console (a co-managed tech is onboarded, never approved
# while a triplet grants every tech every domain), bob sets up two-factor authentication with the code the demo
# prints (demo only: it reads the throwaway hub's database, in place of a phone), and a working password appears
# in his TechClient.
#
# Each app runs in its own D-Bus session with its own Secret Service (scripts/with-secret-service.sh) and its own
# XDG directories under one temporary directory, so the demo never touches a real installation's keys or settings.
# Without a display it starts a private Xvfb. Ctrl+C (or the end of DEMO_SECONDS) tears everything down.
#
#   DEMO_SECONDS=N       unattended: after the first screenshots, onboard Contoso Ltd as the Console's onboarding
#                        would, type bob's code into his TechClient, take the last screenshots, stop N seconds later
#   DEMO_SCREENSHOTS=DIR save demo-*.png of the windows there (docs/screenshots for the README)
#   DEMO_KEEP=1          keep the demo's directory (logs of the hub, the agent and each app) after it stops
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin
export LANG=en_US.UTF-8

log() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

pids=()   # plain processes, stopped last-started first
groups=() # app sessions (setsid), stopped as whole process groups
cleanup() {
	trap - EXIT INT TERM
	local i
	for ((i = ${#groups[@]} - 1; i >= 0; i--)); do kill -TERM -- "-${groups[i]}" 2>/dev/null || true; done
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
	for _ in $(seq 50); do
		local alive=0
		for p in "${groups[@]}" "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${groups[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${DEMO_KEEP:-}" ]; then log "kept $demo_home"; elif [ -n "${demo_home:-}" ]; then rm -rf "$demo_home"; fi
	log "stopped; everything the demo created is gone"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- packages: the directory server and the tools to talk to it (the build's own come from make's deps) ---
need=()
for p in slapd ldap-utils openssl curl gnome-keyring dbus-user-session dbus-x11 xvfb xdotool imagemagick x11-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	log "installing ${need[*]}"
	echo 'slapd slapd/no_configuration boolean true' | $sudo debconf-set-selections
	own_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then # packaged daemons must not start and take ports
		printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
		$sudo chmod +x /usr/sbin/policy-rc.d
		own_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=120 -y -q --no-install-recommends install "${need[@]}" >/dev/null ||
		{ $sudo apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=120 -y -q --no-install-recommends install "${need[@]}" >/dev/null; }
	[ -z "$own_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
fi
for b in watchword-hub watchword-agent console techclient; do [ -x "$bin/$b" ] || die "$bin/$b missing: run make demo"; done
go build -o "$bin/demo" ./scripts/demo

demo_home=$(mktemp -d /tmp/watchword-demo.XXXXXX)
chmod 700 "$demo_home"
S=$demo_home/state
mkdir -p "$S"

free_port() { # a free TCP port on loopback
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port"
}

# --- display ---
if [ -z "${DISPLAY:-}" ]; then
	for n in $(seq 90 120); do [ -e "/tmp/.X11-unix/X$n" ] || break; done
	Xvfb ":$n" -screen 0 2260x1460x24 -nolisten tcp >/dev/null 2>&1 &
	pids+=($!)
	export DISPLAY=":$n"
	for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
	log "no display: started Xvfb on $DISPLAY"
fi

# --- the directory: OpenLDAP on a high port, no root needed ---
L=$demo_home/ldap
mkdir -p "$L/db"
ldap_port=$(free_port)
ldap_base=dc=demo,dc=test
(
	cd "$L"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.pem -subj "/CN=Watchword demo CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
)
(umask 077 && openssl rand -hex 16 | tr -d "\n" >"$L/admin.pass") # slappasswd -T hashes every byte: no newline
schema=/etc/ldap/schema
mods=/usr/lib/ldap
[ -e "$mods/back_mdb.la" ] || [ -e "$mods/back_mdb.so" ] || mods=$(dirname "$(find /usr/lib -name 'back_mdb.*' | head -1)")
cat >"$L/slapd.conf" <<EOF
include $schema/core.schema
include $schema/cosine.schema
include $schema/nis.schema
include $schema/inetorgperson.schema
modulepath $mods
moduleload back_mdb
moduleload ppolicy
pidfile $L/slapd.pid
TLSCACertificateFile $L/ca.pem
TLSCertificateFile $L/server.pem
TLSCertificateKeyFile $L/server.key
password-hash {SSHA}
database mdb
maxsize 16777216
suffix "$ldap_base"
rootdn "cn=admin,$ldap_base"
rootpw $(slappasswd -T "$L/admin.pass")
directory $L/db
index objectClass eq
index uid,cn,member eq
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$ldap_base"
access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by self read
    by users read
    by * none
EOF
{
	printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: demo\no: Contoso Ltd\n\n' "$ldap_base"
	printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$ldap_base"
	printf 'dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n' "$ldap_base"
	printf 'dn: ou=policies,%s\nobjectClass: organizationalUnit\nou: policies\n\n' "$ldap_base"
	printf 'dn: cn=default,ou=policies,%s\nobjectClass: person\nobjectClass: pwdPolicy\ncn: default\nsn: policy\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 0\n\n' "$ldap_base"
} >"$L/seed.ldif"
slapadd -f "$L/slapd.conf" -l "$L/seed.ldif" >"$L/slapadd.log" 2>&1 || { cat "$L/slapadd.log" >&2; die "slapadd failed"; }
slapd -f "$L/slapd.conf" -h "ldaps://127.0.0.1:$ldap_port/" -d 0 </dev/null >"$L/slapd.log" 2>&1 &
pids+=($!)
ldap_ready=
for _ in $(seq 100); do
	if LDAPTLS_CACERT="$L/ca.pem" LDAPTLS_REQCERT=demand timeout 5 ldapsearch -x -H "ldaps://127.0.0.1:$ldap_port" \
		-D "cn=admin,$ldap_base" -y "$L/admin.pass" -s base -b "" "(objectClass=*)" 1.1 >/dev/null 2>&1; then
		ldap_ready=1
		break
	fi
	sleep 0.1
done
[ -n "$ldap_ready" ] || { tail -20 "$L/slapd.log" >&2; die "slapd did not come up"; }
log "directory: OpenLDAP on ldaps://127.0.0.1:$ldap_port ($ldap_base)"

# --- the hub ---
H=$demo_home/hub
mkdir -p "$H"
hub_port=$(free_port)
recipient=$("$bin/demo" recovery --state "$S")
"$bin/watchword-hub" init --db "$H/hub.db" --tenant "Demo MSP" --abbrev demo --recovery "$recipient" \
	--url "https://127.0.0.1:$hub_port" >"$S/init.txt"
invite=$(awk '$1 == "invite:" {print $2}' "$S/init.txt")
awk '$1 == "owner" && $2 == "token:" {print $3}' "$S/init.txt" >"$S/owner.token"
"$bin/watchword-hub" serve --db "$H/hub.db" --listen "127.0.0.1:$hub_port" >"$H/hub.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -skf "https://127.0.0.1:$hub_port/healthz" >/dev/null && break; sleep 0.1; done
curl -skf "https://127.0.0.1:$hub_port/healthz" >/dev/null || { tail "$H/hub.log" >&2; die "the hub did not come up"; }
log "hub: https://127.0.0.1:$hub_port, tenant Demo MSP"
"$bin/demo" owner --state "$S" --invite "$invite" --owner-token-file "$S/owner.token"

# --- the agent, enrolled for the directory ---
A=$demo_home/agent
openssl rand -hex 16 >"$S/agent.pass"
export WW_DEMO_BIND_FILE="$L/admin.pass"
"$bin/watchword-agent" enroll --state-dir "$A" --hub "$invite" --token-file "$S/enroll.token" --name contoso.test \
	--driver ldap --ldap-url "ldaps://127.0.0.1:$ldap_port" --people-dn "ou=people,$ldap_base" --groups-dn "ou=groups,$ldap_base" \
	--bind-dn "cn=admin,$ldap_base" --ca-file "$L/ca.pem" --bind-password-file "$L/admin.pass" \
	--passphrase-file "$S/agent.pass" >"$S/enroll.txt"
"$bin/watchword-agent" run --state-dir "$A" --poll-wait 10s >"$A.log" 2>&1 &
pids+=($!)
log "agent: enrolled for contoso.test (OpenLDAP), running"

# --- the apps, each in its own session, Secret Service and XDG directories ---
app() { # app NAME SETUP... -- PROGRAM ARGS...: run SETUP then PROGRAM in a new session of their own
	local name=$1
	shift
	local home="$demo_home/$name"
	mkdir -p "$home/config" "$home/data"
	XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" \
		setsid scripts/with-secret-service.sh bash -c "$1 && exec $2" >"$home.log" 2>&1 &
	groups+=($!)
}
windows() { xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | sort; }
wait_window() { # wait_window TITLE KNOWN_IDS: print the id of a new visible window titled TITLE
	local id
	for _ in $(seq 300); do
		id=$(comm -13 <(printf '%s\n' $2 | sort) <(windows "$1") | head -1)
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}
place() { xdotool windowmove "$1" "$2" "$3" 2>/dev/null || true; }
shoot() { # shoot ID FILE
	[ -n "${DEMO_SCREENSHOTS:-}" ] || return 0
	mkdir -p "$DEMO_SCREENSHOTS"
	xdotool windowraise "$1" 2>/dev/null || true
	sleep 1.5 # let the window render its latest state
	import -window "$1" "$DEMO_SCREENSHOTS/$2"
	log "saved $DEMO_SCREENSHOTS/$2"
}
q() { printf '%q' "$1"; }

app alice "$(q "$bin/demo") register --invite $(q "$invite") --username alice && touch $(q "$S/alice.registered")" "$(q "$bin/techclient")"
alice_win=$(wait_window "Watchword TechClient" "") || die "alice's TechClient did not open (see $demo_home/alice.log)"
place "$alice_win" 1200 0
[ -e "$S/alice.registered" ] || die "alice's TechClient did not register"
"$bin/demo" approve --state "$S" --invite "$invite" --username alice
log "alice (MSP tech) registered and approved"

app bob "$(q "$bin/demo") register --invite $(q "$invite") --username bob --org $(q "Contoso Ltd")" "$(q "$bin/techclient")"
bob_win=$(wait_window "Watchword TechClient" "$alice_win") || die "bob's TechClient did not open (see $demo_home/bob.log)"
place "$bob_win" 1200 740
log "bob (co-managed tech of Contoso Ltd) registered: pending"

# Bob's authenticator, demo only: the codes of his enrolment, printed here as they change until he has enrolled.
setsid bash -c "$(q "$bin/demo") totp --db $(q "$H/hub.db") --username bob | tee $(q "$S/totp.log")" &
groups+=($!)

# The Console last, so that its first look at the hub already shows bob waiting.
app console "$(q "$bin/demo") console --invite $(q "$invite") --token-file $(q "$S/console.token") && $(q "$bin/demo") admins --state $(q "$S") --invite $(q "$invite")" "$(q "$bin/console") -section pending"
console_win=$(wait_window "Watchword Console" "") || die "the Console's window did not open (see $demo_home/console.log)"
place "$console_win" 0 0

cat <<EOF

  Watchword is running on this machine (all throwaway, under $demo_home):
    hub       https://127.0.0.1:$hub_port   tenant "Demo MSP"
    agent     contoso.test, managing OpenLDAP on ldaps://127.0.0.1:$ldap_port
    Console   connected as an admin, on "Pending techs"
    alice     MSP tech, approved: her TechClient lists her account alice-demo on contoso.test
    bob       co-managed tech of Contoso Ltd, waiting for approval

  What to click:
    1. In the Console, "Pending techs": compare bob's fingerprint with the one his TechClient shows.
    2. In the Console, "Co-managed onboarding": organization Contoso Ltd (bob is proposed as its co-managed
       tech, contoso.test as its domain), then Apply. Bob goes active with access to contoso.test only, and the
       triplet that gave every tech every domain is gone.
    3. Bob's TechClient asks for two-factor authentication: type the 6-digit code this terminal prints
       ("bob's authenticator code", demo only, in place of a phone). Within seconds the agent creates
       bob-demo in the directory and sets its password; bob's TechClient lists it: reveal it, or copy it.
    4. In the Console, "Techs": deactivate bob, and watch his TechClient empty as the account is locked.

  Ctrl+C stops everything.

EOF

# The first screenshots once alice's password is there (her TechClient follows the hub live).
sleep 4
shoot "$console_win" demo-console-pending.png
shoot "$alice_win" demo-techclient-msp.png
shoot "$bob_win" demo-techclient-pending.png

if [ -n "${DEMO_SECONDS:-}" ]; then
	log "unattended: onboarding Contoso Ltd as the Console's onboarding does"
	"$bin/demo" onboard --state "$S" --invite "$invite" --org "Contoso Ltd"
	sleep 4
	shoot "$bob_win" demo-techclient-enrol.png
	code=$(awk '/authenticator code/ {c = $NF} END {print c}' "$S/totp.log")
	[ -n "$code" ] || die "no authenticator code for bob (see $S/totp.log)"
	xdotool windowfocus --sync "$bob_win" 2>/dev/null || true # no window manager here to activate it
	xdotool type --delay 50 "$code"
	xdotool key Return
	sleep 5
	shoot "$bob_win" demo-techclient-approved.png
	shoot "$console_win" demo-console-approved.png
	sleep "$DEMO_SECONDS"
else
	while :; do
		for g in "${groups[@]}"; do kill -0 "$g" 2>/dev/null || exit 0; done # an app quit: stop
		sleep 1
	done
fi
