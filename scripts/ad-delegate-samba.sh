#!/usr/bin/env bash
# ad-delegate-samba.sh — the least-privilege rights watchword-agent's bind account needs on a Samba AD domain,
# granted on the managed OU and the rights' groups, so the account does not have to be a Domain Admin.
#
#   scripts/ad-delegate-samba.sh --ou OU=Watchword,DC=contoso,DC=local --account watchword-svc \
#       --group "Ops Admins" --group "Server Admins" [-H ldap://dc1.contoso.local] [-- SAMBA-TOOL-OPTIONS...]
#   scripts/ad-delegate-samba.sh --revoke --ou ... --account watchword-svc --group ...   # take them away again
#
# Options:
#   --ou DN              the OU the agent manages (its --ou); it must exist
#   --account NAME       the bind account (sAMAccountName); it must exist unless --create-account
#   --sid SID            with --revoke: the bind account's SID, when the account was already deleted
#   --group NAME         a group a right names (repeat it); the agent may then add and remove members of it
#   --create-account     create the bind account first (random password: set yours with
#                        `samba-tool user setpassword NAME`, which prompts, then give it to the agent)
#   --adminsdholder      also grant the rights on CN=AdminSDHolder,CN=System (see "Protected groups" below)
#   --revoke             remove every ACE naming the account from the objects this script grants on
#   --dry-run            print what would be granted; change nothing
#   -H URL               the DC: ldap://dc1.contoso.local (samba-tool signs and seals the connection), or leave it
#                        out on the DC itself to use its local sam.ldb as root
#   -- OPTIONS...        passed to every samba-tool call: credentials such as `-U Administrator` (it prompts for the
#                        password; or set PASSWD_FILE=/path/to/file so no password is on a command line)
#
# What it grants the bind account (SDDL ACEs; GUIDs from the AD schema, the same on Windows and Samba):
#   on the OU, inherited by the user objects in it:
#     create and delete user objects                       (OA;CI;CCDC;<user>;;SID)
#     reset password (User-Force-Change-Password)          (OA;CIIO;CR;00299570-…;<user>;SID)
#     read and write userAccountControl                    (OA;CIIO;RPWP;bf967a68-…;<user>;SID)
#     read and write description (the watchword mark)      (OA;CIIO;RPWP;bf967950-…;<user>;SID)
#     read the user objects (badPwdCount, msDS-ResultantPSO, adminCount, memberOf, ...)
#                                                          (OA;CIIO;RPLCLORC;;<user>;SID)
#   on each --group: read and write member                 (OA;;RPWP;bf9679c0-…;;SID)
#   on CN=Password Settings Container,CN=System: read the fine-grained password settings objects, which only
#     Domain Admins may read by default                    (OA;CIIO;RPLCLORC;;<msDS-PasswordSettings>;SID)
# The domain's own password and lockout policy (minPwdLength, pwdProperties, pwdHistoryLength, lockoutThreshold on
# the domain head) needs no grant: every domain lets Everyone and Authenticated Users read it ((A;;RP;;;WD) and
# (A;;RPLCLORC;;;AU) in the domain head's default ACL). Nothing else: no right on any other account or group, no right to change an ACL, no logon rights on the DC.
#
# Protected groups. A right that names a protected group (Domain Admins, Administrators, Account Operators, ...)
# needs write on that group's member attribute. A Windows DC's SDProp task (every 60 minutes) replaces the ACL of
# every protected group, and of every account that becomes a member of one (it sets adminCount=1), with the ACL of
# CN=AdminSDHolder,CN=System: the group's grant disappears, and the OU's delegation no longer lets the agent reset
# that tech account's password. --adminsdholder grants reset password, userAccountControl, description and member
# on AdminSDHolder, which SDProp then copies onto every protected account and group of the domain — including the
# Administrator and every Domain Admin: the bind account can then take over the domain and must be guarded like a
# Domain Admin. Samba 4.17 has no SDProp (a member added to Domain Admins keeps its ACL and gets no adminCount), so
# a grant on the group itself works on a Samba-only domain. Prefer groups with delegated rights over protected ones.
set -euo pipefail

# Schema and extended-right GUIDs (MS-ADSC / MS-ADTS; checked on the Samba schema).
G_USER=bf967aba-0de6-11d0-a285-00aa003049e2
G_RESET_PASSWORD=00299570-246d-11d0-a768-00aa006e0529
G_UAC=bf967a68-0de6-11d0-a285-00aa003049e2
G_DESCRIPTION=bf967950-0de6-11d0-a285-00aa003049e2
G_MEMBER=bf9679c0-0de6-11d0-a285-00aa003049e2
G_PSO=3bcd9db8-f84b-451c-952f-6c52b81f9ec6

log() { printf 'ad-delegate: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

OU="" ACCOUNT="" SID="" URL="" CREATE=0 ADMINSDHOLDER=0 REVOKE=0 DRY=0
RIGHT_GROUPS=() # not GROUPS: bash reserves that name and ignores assignments to it
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--ou) OU=${2:?--ou needs a DN}; shift 2 ;;
	--account) ACCOUNT=${2:?--account needs a name}; shift 2 ;;
	--sid) SID=${2:?--sid needs a SID}; shift 2 ;;
	--group) RIGHT_GROUPS+=("${2:?--group needs a name}"); shift 2 ;;
	--create-account) CREATE=1; shift ;;
	--adminsdholder) ADMINSDHOLDER=1; shift ;;
	--revoke) REVOKE=1; shift ;;
	--dry-run) DRY=1; shift ;;
	-H | --URL) URL=${2:?-H needs a URL}; shift 2 ;;
	-h | --help) usage 0 ;;
	--) shift; EXTRA=("$@"); break ;;
	*) log "unknown option $1"; usage ;;
	esac
done

[ -n "$OU" ] || die "--ou is required (the OU the agent manages, e.g. OU=Watchword,DC=contoso,DC=local)"
[ -n "$ACCOUNT" ] || { [ "$REVOKE" = 1 ] && [ -n "$SID" ]; } || die "--account is required (the bind account's sAMAccountName)"
[ "$CREATE" = 0 ] || [ "$REVOKE" = 0 ] || die "--create-account and --revoke exclude each other"
[ -z "$SID" ] || [ "$REVOKE" = 1 ] || die "--sid is only for --revoke (the grant resolves the account's SID)"
[[ "$OU" =~ ^[Oo][Uu]= ]] || die "--ou $OU: not an organizational unit's DN (OU=...,DC=...)"
# The domain is the OU's trailing DC= components.
BASE=$(printf '%s\n' "$OU" | grep -ioE '(^|,)DC=[^,]+(,DC=[^,]+)*$' | sed 's/^,//') ||
	die "--ou $OU: no DC= components, cannot tell the domain"
PSO_CONTAINER="CN=Password Settings Container,CN=System,$BASE"
ADMINSDHOLDER_DN="CN=AdminSDHolder,CN=System,$BASE"

command -v samba-tool >/dev/null || die "samba-tool not found (Debian: apt-get install samba-common-bin, or run on the DC)"
st() { samba-tool "$@" ${URL:+-H "$URL"} "${EXTRA[@]}"; }

# attr NAME TEXT: the value of NAME: in samba-tool's LDIF output.
attr() { printf '%s\n' "$2" | sed -n "s/^$1: //p" | head -1; }

if [ "$CREATE" = 1 ]; then
	if st user show "$ACCOUNT" --attributes=objectSid >/dev/null 2>&1; then
		log "account $ACCOUNT exists; not creating it"
	elif [ "$DRY" = 1 ]; then
		log "would create account $ACCOUNT"
	else
		st user create "$ACCOUNT" --random-password --description="watchword-agent bind account (delegated, not an admin)" >/dev/null ||
			die "create account $ACCOUNT failed"
		log "created account $ACCOUNT with a random password: set one with 'samba-tool user setpassword $ACCOUNT'"
	fi
fi

if [ -z "$SID" ]; then
	if ! out=$(st user show "$ACCOUNT" --attributes=objectSid,distinguishedName,adminCount 2>&1); then
		if [ "$DRY" != 1 ] || [ "$CREATE" != 1 ]; then
			die "account $ACCOUNT: not found or not readable: $(printf '%s' "$out" | tail -1)"
		fi
		SID="S-1-5-21-0-0-0-0" # a placeholder: the dry run did not create the account
	else
		SID=$(attr objectSid "$out")
		dn=$(attr distinguishedName "$out")
		[[ "$SID" =~ ^S-1-5-21-[0-9-]+$ ]] || die "account $ACCOUNT: no domain SID in its objectSid ($SID)"
		[ "$(attr adminCount "$out")" != 1 ] ||
			log "warning: $ACCOUNT has adminCount=1 (a protected group's member): once delegated it should not be one"
		case ",${dn,,}" in *",${OU,,}") log "warning: $ACCOUNT lives inside the managed OU; keep the bind account outside it" ;; esac
	fi
fi
[[ "$SID" =~ ^S-1-[0-9-]+$ ]] || die "--sid $SID: not a SID"

# Every object must exist before anything changes: a half-applied delegation is worse than none.
st dsacl get --objectdn="$OU" >/dev/null 2>&1 || die "OU $OU: not found (create it first: samba-tool ou create '$OU')"
declare -A GROUP_DN=()
for g in "${RIGHT_GROUPS[@]}"; do
	out=$(st group show "$g" --attributes=distinguishedName,adminCount 2>&1) || die "group $g: not found"
	GROUP_DN[$g]=$(attr distinguishedName "$out")
	if [ "$(attr adminCount "$out")" = 1 ] && [ "$REVOKE" = 0 ]; then
		log "warning: group $g is protected (adminCount=1): a Windows DC's SDProp replaces its ACL within 60 minutes" \
			"and makes its members' passwords unresettable through the OU; see --adminsdholder and docs/agent.md"
	fi
done

# grant DN WHAT SDDL: add the ACEs (samba-tool dsacl set skips an ACE the object already has).
grant() {
	if [ "$DRY" = 1 ]; then
		printf 'would grant on %s: %s\n  %s\n' "$1" "$2" "$3"
		return
	fi
	st dsacl set --objectdn="$1" --sddl="$3" >/dev/null || die "grant $2 on $1 failed"
	printf 'granted on %s: %s\n' "$1" "$2"
}

# revoke DN...: remove every explicit ACE naming SID from each object's DACL. samba-tool 4.17 cannot delete an ACE,
# so this uses the same Python bindings samba-tool runs on, with its options (-H, credentials) parsed alike.
revoke() {
	local py
	py=$(head -1 "$(command -v samba-tool)" | sed 's/^#! *//')
	if [ "$DRY" = 1 ]; then
		printf 'would remove the ACEs naming %s from: %s\n' "$SID" "$*"
		return
	fi
	local args=()
	for dn in "$@"; do args+=(--dn "$dn"); done
	$py - --sid "$SID" "${args[@]}" ${URL:+-H "$URL"} "${EXTRA[@]}" <<-'EOF'
		import optparse, sys
		import ldb
		import samba.getopt as options
		from samba.auth import system_session
		from samba.dcerpc import security
		from samba.ndr import ndr_pack, ndr_unpack
		from samba.samdb import SamDB

		parser = optparse.OptionParser()
		sambaopts = options.SambaOptions(parser)
		credopts = options.CredentialsOptions(parser)
		parser.add_option("-H", "--URL", dest="url")
		parser.add_option("--sid")
		parser.add_option("--dn", action="append", default=[])
		opts, _ = parser.parse_args()
		lp = sambaopts.get_loadparm()
		samdb = SamDB(url=opts.url, session_info=system_session(), credentials=credopts.get_credentials(lp), lp=lp)
		sid = security.dom_sid(opts.sid)
		for dn in opts.dn:
		    res = samdb.search(dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=["sd_flags:1:4"])
		    if len(res) != 1:
		        print("ad-delegate: error: %s not found" % dn, file=sys.stderr)
		        sys.exit(2)
		    desc = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
		    # explicit ACEs only: the DC recomputes the inherited ones from the parent's. The ACL is rebuilt rather than
		    # edited with dacl_del_ace, which in Samba 4.17's bindings emptied the whole DACL when tried here.
		    acl = desc.dacl
		    keep = [a for a in acl.aces if a.trustee != sid or a.flags & security.SEC_ACE_FLAG_INHERITED_ACE]
		    gone = len(acl.aces) - len(keep)
		    if gone == 0:
		        print("nothing to revoke on %s" % dn)
		        continue
		    acl.aces = keep
		    acl.num_aces = len(keep)
		    desc.dacl = acl
		    m = ldb.Message()
		    m.dn = ldb.Dn(samdb, dn)
		    m["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(desc), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
		    samdb.modify(m, controls=["sd_flags:1:4"])
		    print("revoked on %s: %d ACE(s)" % (dn, gone))
	EOF
}

if [ "$REVOKE" = 1 ]; then
	targets=("$OU" "$PSO_CONTAINER" "$ADMINSDHOLDER_DN")
	for g in "${RIGHT_GROUPS[@]}"; do targets+=("${GROUP_DN[$g]}"); done
	revoke "${targets[@]}"
	exit 0
fi

grant "$OU" "create and delete users; reset password, userAccountControl, description and read on its users" \
	"(OA;CI;CCDC;$G_USER;;$SID)(OA;CIIO;CR;$G_RESET_PASSWORD;$G_USER;$SID)(OA;CIIO;RPWP;$G_UAC;$G_USER;$SID)(OA;CIIO;RPWP;$G_DESCRIPTION;$G_USER;$SID)(OA;CIIO;RPLCLORC;;$G_USER;$SID)"
for g in "${RIGHT_GROUPS[@]}"; do
	grant "${GROUP_DN[$g]}" "member" "(OA;;RPWP;$G_MEMBER;;$SID)"
done
grant "$PSO_CONTAINER" "read fine-grained password settings" "(OA;CIIO;RPLCLORC;;$G_PSO;$SID)"
if [ "$ADMINSDHOLDER" = 1 ]; then
	log "warning: granting on AdminSDHolder: the bind account can reset the password of every protected account," \
		"the Administrator's included, and change every protected group: guard it like a Domain Admin"
	grant "$ADMINSDHOLDER_DN" "reset password, userAccountControl, description and member on protected objects" \
		"(OA;;CR;$G_RESET_PASSWORD;;$SID)(OA;;RPWP;$G_UAC;;$SID)(OA;;RPWP;$G_DESCRIPTION;;$SID)(OA;;RPWP;$G_MEMBER;;$SID)"
fi
[ "$DRY" = 1 ] || log "done: $ACCOUNT may now manage user accounts in $OU; remove it from Domain Admins if it is one"
