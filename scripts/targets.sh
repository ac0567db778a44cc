#!/usr/bin/env bash
# targets.sh — the real rotation targets for Watchword's integration tests, on loopback only.
#
#   scripts/targets.sh start    install (when missing), provision (once) and start every target; no-op when running
#   scripts/targets.sh stop     stop every target by PID; no-op when stopped
#   scripts/targets.sh status   print what runs; exit 0 only when all three run
#   scripts/targets.sh install  only install the packages
#   scripts/targets.sh clean    stop, then delete the state directory
#
# Targets:
#   - a Samba Active Directory domain controller (realm TEST.LAN), LDAPS on 127.0.0.1:636 (AD's fixed ports: root)
#   - an OpenLDAP slapd with the ppolicy overlay, LDAPS on 127.0.0.1:$WW_LDAP_PORT (default 10636)
#   - an OpenSSH server on 127.0.0.1:$WW_SSH_PORT (default 10022), its own ed25519 host key; the agent logs in by
#     key as $SSH_ADMIN, an administrator with password-less sudo (as a real Linux host is run), shell /bin/sh
#   - a single-node PostgreSQL 15 on 127.0.0.1:$WW_PG_PORT (default 15400) for the hub's PostgreSQL store, run as the
#     postgres user (PostgreSQL refuses root), trust authentication on loopback only; PG_DSN in targets.env is its
#     superuser. Test data only: fsync is off. Tests make a schema each and drop it.
#
# Everything lives under one directory (default /tmp/watchword-targets, or $WATCHWORD_TARGETS_DIR). Tests read
# $DIR/targets.env (point WATCHWORD_TARGETS_ENV at it). Each readiness wait is bounded; nothing here waits forever.
# The facts behind each step are in ../shared/notes/test-targets.md (Samba's negative-serial certificate, the dropped
# provision options, the NTLM grace period, policy-rc.d, ...).
set -euo pipefail

DIR=${WATCHWORD_TARGETS_DIR:-/tmp/watchword-targets}
LDAP_PORT=${WW_LDAP_PORT:-10636}
SSH_PORT=${WW_SSH_PORT:-10022}
PG_PORT=${WW_PG_PORT:-15400}
PG_BIN=/usr/lib/postgresql/15/bin
# Not root: a login as root runs root's ~/.bashrc (Debian's bash reads it under sshd), which on a developer's
# machine can cost half a second per account command. Not wwt-*: that prefix is the managed accounts'.
SSH_ADMIN=wwadmin
READY_TIMEOUT=${WW_TARGETS_READY_TIMEOUT:-30}

AD_REALM=TEST.LAN
AD_DOMAIN=TEST
AD_BASE=DC=test,DC=lan
AD_OU="OU=Watchword,$AD_BASE"
LDAP_BASE=dc=watchword,dc=test
# Groups that exist on every target, for the tests' rights; a right naming any other group is "missing".
TEST_GROUPS=(wwt-ops wwt-dev)

log() { printf 'targets: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (Samba AD needs the fixed AD ports; sshd and useradd need root)"; }

# ---------------------------------------------------------------------------------------------------------------
# packages

# krb5-user (kinit) and smbclient: the tests log in as a user would, over Kerberos and NTLM, not only by LDAP bind.
PKGS=(samba-ad-dc samba-ad-provision slapd ldap-utils openssh-server openssl sudo krb5-user smbclient postgresql-15)

missing_pkgs() {
	local p out=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out+=("$p")
	done
	printf '%s\n' "${out[@]}"
}

install_pkgs() {
	local missing
	mapfile -t missing < <(missing_pkgs | sed '/^$/d')
	[ "${#missing[@]}" -eq 0 ] && return 0
	need_root
	log "installing: ${missing[*]}"
	# Keep packaged daemons (smbd, nmbd, slapd, sshd) from starting on install and taking the ports we need.
	local own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections 2>/dev/null || true
	# krb5-config (krb5-user's recommendation, so only where recommends are installed) asks for a default realm
	# and its servers: answer for the test realm so apt never prompts. The tests do not read /etc/krb5.conf; they
	# use the private one that write_krb5_conf makes.
	debconf-set-selections 2>/dev/null <<-EOF || true
		krb5-config krb5-config/default_realm string $AD_REALM
		krb5-config krb5-config/kerberos_servers string 127.0.0.1
		krb5-config krb5-config/admin_server string 127.0.0.1
		krb5-config krb5-config/add_servers_realm string $AD_REALM
		krb5-config krb5-config/add_servers boolean false
		krb5-config krb5-config/read_conf boolean true
		krb5-config krb5-config/dns_for_default boolean false
	EOF
	local rc=0
	apt_install "${missing[@]}" || rc=$?
	if [ "$rc" -ne 0 ]; then
		log "install failed; refreshing the package lists once"
		apt-get -o DPkg::Lock::Timeout=120 update -qq && rc=0 || rc=$?
		[ "$rc" -eq 0 ] && { apt_install "${missing[@]}" || rc=$?; }
	fi
	[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed"
	# A package's own daemons must not hold the ports even where policy-rc.d was ignored.
	local s
	for s in samba-ad-dc smbd nmbd winbind slapd ssh; do
		if command -v systemctl >/dev/null && systemctl is-active --quiet "$s" 2>/dev/null; then
			systemctl stop "$s" || true
		fi
	done
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "$@" >"${TMPDIR:-/tmp}/watchword-targets-apt.log" 2>&1 ||
		{ tail -n 20 "${TMPDIR:-/tmp}/watchword-targets-apt.log" >&2; return 1; }
}

# ---------------------------------------------------------------------------------------------------------------
# helpers

# pid_alive FILE NAME: the PID in FILE runs and its command is NAME (guards against a recycled PID).
pid_alive() {
	local f=$1 name=$2 pid
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	grep -q "$name" "/proc/$pid/comm" 2>/dev/null
}

# wait_port PORT SECONDS: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local port=$1 deadline=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$deadline" ]; do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_bind URL DN PWFILE SECONDS: until a verified LDAPS simple bind succeeds (the server is really serving).
wait_bind() {
	local url=$1 dn=$2 pwfile=$3 deadline=$((SECONDS + $4))
	while [ "$SECONDS" -lt "$deadline" ]; do
		LDAPTLS_CACERT="$DIR/ca/ca.pem" LDAPTLS_REQCERT=demand timeout 5 \
			ldapsearch -x -H "$url" -D "$dn" -y "$pwfile" -s base -b "" "(objectClass=*)" 1.1 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# stop_pid FILE NAME: SIGTERM the process group, wait up to 10 s, then SIGKILL.
stop_pid() {
	local f=$1 name=$2 pid i
	if ! pid_alive "$f" "$name"; then
		rm -f "$f"
		return 0
	fi
	pid=$(cat "$f")
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name ($pid) ignored SIGTERM; killing"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

# a password with all four classes, no shell or LDIF specials
gen_pass() { printf 'Ww-%s-%s9a' "$(openssl rand -hex 6)" "$(openssl rand -hex 2 | tr a-f A-F)"; }

# ---------------------------------------------------------------------------------------------------------------
# the private CA (one server certificate for all three, SANs 127.0.0.1 and localhost)

make_ca() {
	[ -s "$DIR/ca/server.pem" ] && [ -s "$DIR/ca/ca.pem" ] && return 0
	mkdir -p "$DIR/ca"
	chmod 700 "$DIR/ca"
	(
		cd "$DIR/ca"
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.pem \
			-subj "/CN=Watchword test CA" -addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile server.ext -out server.pem 2>/dev/null
		chmod 600 ca.key server.key
		chmod 644 ca.pem server.pem
	)
}

# ---------------------------------------------------------------------------------------------------------------
# Samba AD DC

SAMBA_DIR() { echo "$DIR/samba"; }

provision_samba() {
	local d
	d=$(SAMBA_DIR)
	[ -f "$d/.provisioned" ] && return 0
	rm -rf "$d"
	mkdir -p "$d/run" "$d/log"
	gen_pass >"$DIR/ad-admin.pass"
	chmod 600 "$DIR/ad-admin.pass"
	log "provisioning the Samba AD DC ($AD_REALM)"
	# -s pointing at a file of our own keeps the system smb.conf (if any) out of the new configuration.
	: >"$d/seed.conf"
	samba-tool domain provision -s "$d/seed.conf" --targetdir="$d" --realm="$AD_REALM" --domain="$AD_DOMAIN" \
		--server-role=dc --dns-backend=NONE --adminpass="$(cat "$DIR/ad-admin.pass")" --use-rfc2307 \
		--host-name=wwdc --host-ip=127.0.0.1 \
		--option="interfaces=lo" --option="bind interfaces only=yes" \
		--option="server services=-dns -nbt" --option="disable netbios=yes" \
		--option="dns update command=/bin/true" --option="spn update command=/bin/true" \
		--option="pid directory=$d/run" --option="ncalrpc dir=$d/run/ncalrpc" \
		--option="log file=$d/log/%m.log" \
		>"$d/provision.log" 2>&1 || { tail -n 30 "$d/provision.log" >&2; die "samba provision failed"; }
	# Provisioning drops some options silently: write the ones that matter into [global] ourselves.
	local conf="$d/etc/smb.conf" extra
	extra=$(
		cat <<-EOF
				interfaces = lo
				bind interfaces only = yes
				server services = -dns -nbt
				disable netbios = yes
				dns update command = /bin/true
				spn update command = /bin/true
				pid directory = $d/run
				ncalrpc dir = $d/run/ncalrpc
				log file = $d/log/%m.log
				old password allowed period = 0
				unix password sync = no
				tls enabled = yes
				tls keyfile = $DIR/ca/server.key
				tls certfile = $DIR/ca/server.pem
				tls cafile = $DIR/ca/ca.pem
		EOF
	)
	# drop any earlier lines for those keys, then append them right after [global]
	local keys='interfaces|bind interfaces only|server services|disable netbios|dns update command|spn update command|pid directory|ncalrpc dir|winbindd socket directory|log file|old password allowed period|unix password sync|tls enabled|tls keyfile|tls certfile|tls cafile'
	grep -Eiv "^[[:space:]]*($keys)[[:space:]]*=" "$conf" >"$conf.tmp"
	awk -v extra="$extra" '{print} /^\[global\]/{print extra}' "$conf.tmp" >"$conf"
	rm -f "$conf.tmp"
	touch "$d/.provisioned"
}

start_samba() {
	local d
	d=$(SAMBA_DIR)
	if pid_alive "$DIR/samba.pid" samba; then return 0; fi
	provision_samba
	# winbindd's socket stays at the built-in /run/samba/winbindd: smbd finds winbindd only there (libwbclient
	# ignores smb.conf), and without winbindd every SMB session setup fails with NT_STATUS_INTERNAL_ERROR. A
	# private directory set by an older provisioning is dropped; a directory mounted over the built-in path (the
	# way to reach such a DC without restarting it) would hide the new socket.
	sed -i '/^[[:space:]]*winbindd socket directory[[:space:]]*=/d' "$d/etc/smb.conf"
	if mountpoint -q /run/samba/winbindd 2>/dev/null; then umount /run/samba/winbindd 2>/dev/null || true; fi
	mkdir -p /run/samba
	log "starting samba"
	setsid samba -i -s "$d/etc/smb.conf" </dev/null >"$d/log/samba.out" 2>&1 &
	echo $! >"$DIR/samba.pid"
	wait_bind ldaps://127.0.0.1:636 "CN=Administrator,CN=Users,$AD_BASE" "$DIR/ad-admin.pass" "$READY_TIMEOUT" ||
		{ tail -n 30 "$d/log/samba.out" >&2; die "samba: LDAPS not ready within ${READY_TIMEOUT}s"; }
}

# check_ad_logins: the DC's Kerberos KDC (88) and SMB server (445) answer on loopback and let the administrator
# log in, over Kerberos (kinit with the private krb5.conf) and NTLM (smbclient, Kerberos off), the way the tests
# log a tech in. An open port is not enough: an smbd that cannot reach winbindd accepts connections and then fails
# every session setup. The password goes on kinit's stdin and into a 0600 file, never on a command line.
check_ad_logins() {
	local port tmp rc=0
	for port in 88 445; do
		wait_port "$port" "$READY_TIMEOUT" ||
			{ tail -n 30 "$(SAMBA_DIR)/log/samba.out" >&2; die "samba: nothing answers on 127.0.0.1:$port within ${READY_TIMEOUT}s"; }
	done
	tmp=$(mktemp -d "$DIR/login-check.XXXXXX")
	printf 'username = Administrator\npassword = %s\ndomain = %s\n' "$(cat "$DIR/ad-admin.pass")" "$AD_DOMAIN" >"$tmp/auth"
	chmod 600 "$tmp/auth"
	: >"$tmp/smb.conf"
	KRB5_CONFIG="$DIR/krb5.conf" KRB5CCNAME="FILE:$tmp/ccache" timeout 20 kinit "Administrator@$AD_REALM" \
		<"$DIR/ad-admin.pass" >"$tmp/kinit.out" 2>&1 || rc=1
	[ "$rc" = 0 ] || { cat "$tmp/kinit.out" >&2; rm -rf "$tmp"; die "samba: Kerberos login (kinit) as Administrator failed"; }
	timeout 20 smbclient "//127.0.0.1/netlogon" -s "$tmp/smb.conf" -A "$tmp/auth" --use-kerberos=off -c ls \
		>"$tmp/smb.out" 2>&1 || rc=1
	[ "$rc" = 0 ] || { cat "$tmp/smb.out" >&2; rm -rf "$tmp"; die "samba: SMB/NTLM login (smbclient) as Administrator failed"; }
	rm -rf "$tmp"
}

# seed_samba: the OU the tests create accounts in and the test groups (idempotent).
seed_samba() {
	local d
	d=$(SAMBA_DIR)
	[ -f "$d/.seeded" ] && return 0
	local ldif="$d/seed.ldif" g
	{
		printf 'dn: %s\nobjectClass: organizationalUnit\nou: Watchword\n\n' "$AD_OU"
		for g in "${TEST_GROUPS[@]}"; do
			# groupType -2147483646: a global security group
			printf 'dn: CN=%s,%s\nobjectClass: group\nsAMAccountName: %s\ngroupType: -2147483646\n\n' "$g" "$AD_OU" "$g"
		done
	} >"$ldif"
	LDAPTLS_CACERT="$DIR/ca/ca.pem" timeout 20 ldapadd -c -x -H ldaps://127.0.0.1:636 \
		-D "CN=Administrator,CN=Users,$AD_BASE" -y "$DIR/ad-admin.pass" -f "$ldif" >"$d/seed.log" 2>&1 || {
		grep -q 'Already exists' "$d/seed.log" || { cat "$d/seed.log" >&2; die "samba: seeding failed"; }
	}
	touch "$d/.seeded"
}

# ---------------------------------------------------------------------------------------------------------------
# OpenLDAP slapd

find_ldap_modules() {
	local m
	for m in /usr/lib/ldap /usr/lib/x86_64-linux-gnu/ldap /usr/lib/*/ldap /usr/lib/openldap; do
		[ -e "$m/back_mdb.la" ] || [ -e "$m/back_mdb.so" ] && { echo "$m"; return; }
	done
	echo /usr/lib/ldap
}

find_schema_dir() {
	local s
	for s in /etc/ldap/schema /etc/openldap/schema /usr/share/openldap/schema; do
		[ -e "$s/core.schema" ] && { echo "$s"; return; }
	done
	die "no OpenLDAP schema directory found"
}

provision_slapd() {
	local d="$DIR/slapd"
	[ -f "$d/.provisioned" ] && return 0
	rm -rf "$d"
	mkdir -p "$d/db" "$d/run"
	gen_pass >"$DIR/ldap-admin.pass"
	chmod 600 "$DIR/ldap-admin.pass"
	local schema mods hash
	schema=$(find_schema_dir)
	mods=$(find_ldap_modules)
	hash=$(slappasswd -T "$DIR/ldap-admin.pass")
	cat >"$d/slapd.conf" <<-EOF
		include $schema/core.schema
		include $schema/cosine.schema
		include $schema/nis.schema
		include $schema/inetorgperson.schema
		modulepath $mods
		moduleload back_mdb
		moduleload ppolicy
		pidfile $d/run/slapd.pid
		argsfile $d/run/slapd.args
		TLSCACertificateFile $DIR/ca/ca.pem
		TLSCertificateFile $DIR/ca/server.pem
		TLSCertificateKeyFile $DIR/ca/server.key
		password-hash {SSHA}
		database mdb
		maxsize 67108864
		suffix "$LDAP_BASE"
		rootdn "cn=admin,$LDAP_BASE"
		rootpw $hash
		directory $d/db
		index objectClass eq
		index uid,cn,member eq
		overlay ppolicy
		ppolicy_default "cn=default,ou=policies,$LDAP_BASE"
		ppolicy_use_lockout
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
		printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: watchword\no: Watchword test\n\n' "$LDAP_BASE"
		printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$LDAP_BASE"
		printf 'dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n' "$LDAP_BASE"
		printf 'dn: ou=policies,%s\nobjectClass: organizationalUnit\nou: policies\n\n' "$LDAP_BASE"
		printf 'dn: cn=default,ou=policies,%s\nobjectClass: person\nobjectClass: pwdPolicy\ncn: default\nsn: policy\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 0\npwdInHistory: 0\n\n' "$LDAP_BASE"
		local g
		for g in "${TEST_GROUPS[@]}"; do
			# groupOfNames needs one member: the admin DN stands in, so the last real member can be removed
			printf 'dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\nmember: cn=admin,%s\n\n' "$g" "$LDAP_BASE" "$g" "$LDAP_BASE"
		done
	} >"$d/seed.ldif"
	slapadd -f "$d/slapd.conf" -l "$d/seed.ldif" >"$d/slapadd.log" 2>&1 || { cat "$d/slapadd.log" >&2; die "slapadd failed"; }
	touch "$d/.provisioned"
}

start_slapd() {
	local d="$DIR/slapd"
	if pid_alive "$DIR/slapd.pid" slapd; then return 0; fi
	make_ca
	provision_slapd
	log "starting slapd on 127.0.0.1:$LDAP_PORT"
	# -d 0 keeps slapd in the foreground, so the PID we record is the server's own.
	setsid slapd -f "$d/slapd.conf" -h "ldaps://127.0.0.1:$LDAP_PORT/" -d 0 </dev/null >"$d/slapd.out" 2>&1 &
	echo $! >"$DIR/slapd.pid"
	wait_bind "ldaps://127.0.0.1:$LDAP_PORT" "cn=admin,$LDAP_BASE" "$DIR/ldap-admin.pass" "$READY_TIMEOUT" ||
		{ tail -n 30 "$d/slapd.out" >&2; die "slapd: LDAPS not ready within ${READY_TIMEOUT}s"; }
}

# ---------------------------------------------------------------------------------------------------------------
# OpenSSH

provision_sshd() {
	local d="$DIR/ssh"
	[ -f "$d/.provisioned" ] && return 0
	rm -rf "$d"
	mkdir -p "$d/authorized_keys"
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -C watchword-test-host -f "$d/host_ed25519"
	ssh-keygen -q -t ed25519 -N '' -C watchword-test-admin -f "$d/admin_ed25519"
	cat >"$d/sshd_config" <<-EOF
		ListenAddress 127.0.0.1:$SSH_PORT
		HostKey $d/host_ed25519
		PidFile $d/sshd.pid
		AuthorizedKeysFile $d/authorized_keys/%u
		PermitRootLogin no
		PubkeyAuthentication yes
		PasswordAuthentication yes
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		MaxAuthTries 3
		MaxStartups 100:30:200
		LoginGraceTime 20
		Subsystem sftp internal-sftp
	EOF
	touch "$d/.provisioned"
}

# ensure_ssh_admin makes the SSH target's administrator: a system account with no password (key only), no home
# and /bin/sh, allowed every command through sudo without a password.
ensure_ssh_admin() {
	getent passwd "$SSH_ADMIN" >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh --comment "Watchword test SSH admin" "$SSH_ADMIN"
	# an unlocked password field ("*", not "!") so that sshd accepts the key login without PAM
	usermod -p '*' "$SSH_ADMIN"
	printf '%s ALL=(root) NOPASSWD: ALL\nDefaults:%s !requiretty, !lecture\n' "$SSH_ADMIN" "$SSH_ADMIN" >/etc/sudoers.d/watchword-test-ssh
	chmod 440 /etc/sudoers.d/watchword-test-ssh
	# sshd reads a user's keys as that user: let it through the directories (the private keys stay 0600)
	cp "$DIR/ssh/admin_ed25519.pub" "$DIR/ssh/authorized_keys/$SSH_ADMIN"
	chmod 711 "$DIR" "$DIR/ssh"
	chmod 755 "$DIR/ssh/authorized_keys"
	chmod 644 "$DIR/ssh/authorized_keys/$SSH_ADMIN"
}

remove_ssh_admin() {
	rm -f /etc/sudoers.d/watchword-test-ssh
	getent passwd "$SSH_ADMIN" >/dev/null && userdel "$SSH_ADMIN" 2>/dev/null || true
}

start_sshd() {
	local d="$DIR/ssh"
	provision_sshd
	ensure_ssh_admin
	if pid_alive "$DIR/sshd.pid" sshd; then return 0; fi
	mkdir -p /run/sshd
	log "starting sshd on 127.0.0.1:$SSH_PORT"
	# -D: foreground, so the recorded PID is the listener; sshd wants an absolute path to re-exec itself.
	setsid "$(command -v sshd || echo /usr/sbin/sshd)" -D -e -f "$d/sshd_config" </dev/null >"$d/sshd.out" 2>&1 &
	echo $! >"$DIR/sshd.pid"
	wait_port "$SSH_PORT" "$READY_TIMEOUT" || { tail -n 30 "$d/sshd.out" >&2; die "sshd not ready within ${READY_TIMEOUT}s"; }
}

# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL (single node; the replicated cluster is scripts/pgcluster.sh)

pg_pid_file() { echo "$DIR/postgres/data/postmaster.pid"; }

# pg_alive: the postmaster named by its pid file runs (its first line is the PID; comm guards a recycled PID).
pg_alive() {
	local f pid
	f=$(pg_pid_file)
	[ -s "$f" ] || return 1
	pid=$(head -n 1 "$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q '^postgres' "/proc/$pid/comm" 2>/dev/null
}

provision_postgres() {
	local d="$DIR/postgres"
	[ -f "$d/.provisioned" ] && return 0
	rm -rf "$d"
	mkdir -p "$d"
	chown postgres:postgres "$d"
	chmod 700 "$d"
	# --no-sync: a test cluster, rebuilt from nothing when lost.
	runuser -u postgres -- "$PG_BIN/initdb" -D "$d/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 \
		>"$d/initdb.log" 2>&1 || { cat "$d/initdb.log" >&2; die "postgres: initdb failed"; }
	# Loopback only, sockets in our directory (not /var/run/postgresql); enough connections for parallel test
	# binaries (each store keeps a small pool); fsync off because nothing here outlives the tests.
	cat >>"$d/data/postgresql.conf" <<-EOF

		# written by scripts/targets.sh
		listen_addresses = '127.0.0.1'
		port = $PG_PORT
		unix_socket_directories = '$d'
		max_connections = 400
		fsync = off
		full_page_writes = off
		synchronous_commit = off
		log_min_messages = warning
	EOF
	printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n' >"$d/data/pg_hba.conf"
	chown postgres:postgres "$d/data/pg_hba.conf"
	touch "$d/.provisioned"
}

start_postgres() {
	local d="$DIR/postgres"
	if pg_alive; then return 0; fi
	provision_postgres
	log "starting postgresql on 127.0.0.1:$PG_PORT"
	# pg_ctl -w returns once the server accepts connections (bounded by -t); the postmaster detaches, and its PID
	# is the first line of postmaster.pid, which is how it is stopped.
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t "$READY_TIMEOUT" start >/dev/null ||
		{ tail -n 30 "$d/postgres.log" >&2; die "postgres not ready within ${READY_TIMEOUT}s"; }
}

# stop_postgres: fast shutdown (SIGINT: clients are disconnected, unlike SIGTERM's wait for them), then SIGQUIT.
stop_postgres() {
	local pid i
	pg_alive || return 0
	pid=$(head -n 1 "$(pg_pid_file)")
	kill -INT "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	log "postgres ($pid) still running after SIGINT; SIGQUIT"
	kill -QUIT "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------------------------
# local groups shared by the SSH and local-Linux targets (this machine is both)

ensure_local_groups() {
	local g
	for g in "${TEST_GROUPS[@]}"; do
		getent group "$g" >/dev/null || groupadd "$g"
	done
}

remove_local_groups() {
	local g
	for g in "${TEST_GROUPS[@]}"; do
		getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null || true
	done
}

# ---------------------------------------------------------------------------------------------------------------

# write_krb5_conf: a private krb5.conf for the test realm, KDC on loopback and no DNS at all (a lookup for
# TEST.LAN would leave the machine); kinit reads it through KRB5_CONFIG, so the system's file stays untouched.
write_krb5_conf() {
	local f="$DIR/krb5.conf" realm_lc
	realm_lc=$(printf '%s' "$AD_REALM" | tr '[:upper:]' '[:lower:]')
	cat >"$f.tmp" <<-EOF
		# written by scripts/targets.sh: the Samba AD DC's realm on loopback, no DNS
		[libdefaults]
		    default_realm = $AD_REALM
		    dns_lookup_kdc = false
		    dns_lookup_realm = false
		    dns_canonicalize_hostname = false
		    rdns = false
		    # TCP only: a KDC that is down then fails at once (connection refused) instead of after UDP retries
		    udp_preference_limit = 1

		[realms]
		    $AD_REALM = {
		        kdc = 127.0.0.1:88
		        admin_server = 127.0.0.1
		    }

		[domain_realm]
		    .$realm_lc = $AD_REALM
		    $realm_lc = $AD_REALM
	EOF
	chmod 644 "$f.tmp"
	mv "$f.tmp" "$f"
}

write_env() {
	local f="$DIR/targets.env"
	umask 077
	cat >"$f.tmp" <<-EOF
		# written by scripts/targets.sh; test-only credentials for targets on loopback
		WATCHWORD_TARGETS_DIR='$DIR'
		WW_CA_CERT='$DIR/ca/ca.pem'
		WW_TEST_GROUPS='$(IFS=,; echo "${TEST_GROUPS[*]}")'
		WW_AD_URL='ldaps://127.0.0.1:636'
		WW_AD_REALM='$AD_REALM'
		WW_AD_DOMAIN='$AD_DOMAIN'
		WW_AD_BASE_DN='$AD_BASE'
		WW_AD_OU='$AD_OU'
		WW_AD_ADMIN_DN='CN=Administrator,CN=Users,$AD_BASE'
		WW_AD_ADMIN_PASSWORD='$(cat "$DIR/ad-admin.pass")'
		WW_AD_SMB_ADDR='127.0.0.1'
		WW_KRB5_CONF='$DIR/krb5.conf'
		WW_LDAP_URL='ldaps://127.0.0.1:$LDAP_PORT'
		WW_LDAP_PORT='$LDAP_PORT'
		WW_LDAP_BASE_DN='$LDAP_BASE'
		WW_LDAP_PEOPLE_DN='ou=people,$LDAP_BASE'
		WW_LDAP_GROUPS_DN='ou=groups,$LDAP_BASE'
		WW_LDAP_ADMIN_DN='cn=admin,$LDAP_BASE'
		WW_LDAP_ADMIN_PASSWORD='$(cat "$DIR/ldap-admin.pass")'
		WW_SSH_ADDR='127.0.0.1:$SSH_PORT'
		WW_SSH_PORT='$SSH_PORT'
		WW_SSH_HOST_KEY='$(cut -d' ' -f1,2 "$DIR/ssh/host_ed25519.pub")'
		WW_SSH_USER='$SSH_ADMIN'
		WW_SSH_SUDO='1'
		WW_SSH_KEY_FILE='$DIR/ssh/admin_ed25519'
		PG_DSN='postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable'
	EOF
	mv "$f.tmp" "$f"
}

cmd_start() {
	need_root
	local t0=$SECONDS
	install_pkgs
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	make_ca
	ensure_local_groups
	start_samba
	seed_samba
	start_slapd
	start_sshd
	start_postgres
	write_krb5_conf
	check_ad_logins
	write_env
	log "all targets up in $((SECONDS - t0))s; WATCHWORD_TARGETS_ENV=$DIR/targets.env"
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	stop_postgres
	stop_pid "$DIR/sshd.pid" sshd
	stop_pid "$DIR/slapd.pid" slapd
	stop_pid "$DIR/samba.pid" samba
	log "stopped"
}

cmd_status() {
	local ok=0 n name
	for n in samba:samba slapd:slapd sshd:sshd; do
		name=${n%%:*}
		if pid_alive "$DIR/$name.pid" "${n#*:}"; then
			echo "$name: running (pid $(cat "$DIR/$name.pid"))"
		else
			echo "$name: stopped"
			ok=1
		fi
	done
	if pg_alive; then
		echo "postgres: running (pid $(head -n 1 "$(pg_pid_file)"))"
	else
		echo "postgres: stopped"
		ok=1
	fi
	[ "$ok" = 0 ] && echo "env: $DIR/targets.env"
	return "$ok"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
install) need_root; install_pkgs ;;
clean)
	cmd_stop
	remove_local_groups
	remove_ssh_admin
	rm -rf "$DIR"
	;;
*)
	echo "usage: $0 start|stop|status|install|clean" >&2
	exit 2
	;;
esac
