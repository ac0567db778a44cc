<#
.SYNOPSIS
    The least-privilege rights watchword-agent's bind account needs on a Windows Active Directory domain, granted on
    the managed OU and the rights' groups, so the account does not have to be a Domain Admin.

.DESCRIPTION
    Grants the bind account (ACEs; the GUIDs are the AD schema's, the same that scripts/ad-delegate-samba.sh grants
    on Samba, where the project's tests run them):

      on the OU, inherited by the user objects in it:
        create and delete user objects                      (OA;CI;CCDC;<user>;;SID)
        Reset Password (User-Force-Change-Password)         (OA;CIIO;CR;00299570-...;<user>;SID)
        read and write userAccountControl                   (OA;CIIO;RPWP;bf967a68-...;<user>;SID)
        read and write description (the watchword mark)     (OA;CIIO;RPWP;bf967950-...;<user>;SID)
        read the user objects (badPwdCount, msDS-ResultantPSO, adminCount, memberOf, ...)
                                                            (OA;CIIO;RPLCLORC;;<user>;SID)
      on each -Group: read and write member                 (OA;;RPWP;bf9679c0-...;;SID)
      on CN=Password Settings Container,CN=System: read the fine-grained password settings objects, which only
        Domain Admins may read by default                   (OA;CIIO;RPLCLORC;;<msDS-PasswordSettings>;SID)

    The domain's own password and lockout policy on the domain head is readable by Authenticated Users already.
    Nothing else: no right on any other account or group, no right to change an ACL, no logon right on a DC.

    The same with dsacl.exe, for an admin who prefers it (CONTOSO\watchword-svc is the bind account):

      dsacls "OU=Watchword,DC=contoso,DC=local" /I:T /G "CONTOSO\watchword-svc:CCDC;user"
      dsacls "OU=Watchword,DC=contoso,DC=local" /I:S /G "CONTOSO\watchword-svc:CA;Reset Password;user"
      dsacls "OU=Watchword,DC=contoso,DC=local" /I:S /G "CONTOSO\watchword-svc:RPWP;userAccountControl;user"
      dsacls "OU=Watchword,DC=contoso,DC=local" /I:S /G "CONTOSO\watchword-svc:RPWP;description;user"
      dsacls "OU=Watchword,DC=contoso,DC=local" /I:S /G "CONTOSO\watchword-svc:GR;;user"
      dsacls "CN=Ops Admins,OU=Groups,DC=contoso,DC=local" /G "CONTOSO\watchword-svc:RPWP;member"
      dsacls "CN=Password Settings Container,CN=System,DC=contoso,DC=local" /I:S /G "CONTOSO\watchword-svc:GR;;msDS-PasswordSettings"

    and dsacls "<DN>" /R "CONTOSO\watchword-svc" on each of those objects to take them away again.

    Protected groups. A right that names a protected group (Domain Admins, Administrators, Account Operators, ...)
    needs write on that group's member attribute. SDProp, which runs on the PDC emulator every 60 minutes, replaces
    the ACL of every protected group, and of every account that becomes a member of one (setting adminCount=1), with
    the ACL of CN=AdminSDHolder,CN=System: the grant on the group disappears, and the OU's delegation no longer lets
    the agent reset that tech account's password. -AdminSDHolder grants Reset Password, userAccountControl,
    description and member on AdminSDHolder, which SDProp copies onto every protected account and group of the
    domain, the Administrator and every Domain Admin included: the bind account can then take over the domain and
    must be guarded like a Domain Admin. Prefer groups with delegated rights over protected ones.

.PARAMETER OU
    The OU the agent manages (its --ou); it must exist.
.PARAMETER Account
    The bind account's sAMAccountName; it must exist unless -CreateAccount.
.PARAMETER Group
    The groups the rights name; the agent may then add and remove members of them.
.PARAMETER CreateAccount
    Create the bind account first, in the domain's Users container, with a password read from the console.
.PARAMETER AdminSDHolder
    Also grant the rights on CN=AdminSDHolder,CN=System (see Protected groups above).
.PARAMETER Revoke
    Remove every explicit ACE naming the account from the objects this script grants on.
.PARAMETER Server
    A domain controller to talk to; the default is the one the ActiveDirectory module finds.

.EXAMPLE
    .\ad-delegate.ps1 -OU 'OU=Watchword,DC=contoso,DC=local' -Account watchword-svc -Group 'Ops Admins','Server Admins' -CreateAccount
.EXAMPLE
    .\ad-delegate.ps1 -OU 'OU=Watchword,DC=contoso,DC=local' -Account watchword-svc -Group 'Ops Admins' -WhatIf
.EXAMPLE
    .\ad-delegate.ps1 -OU 'OU=Watchword,DC=contoso,DC=local' -Account watchword-svc -Group 'Ops Admins' -Revoke
#>
#Requires -Version 5.1
#Requires -Modules ActiveDirectory
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)][string]$OU,
    [Parameter(Mandatory = $true)][string]$Account,
    [string[]]$Group = @(),
    [switch]$CreateAccount,
    [switch]$AdminSDHolder,
    [switch]$Revoke,
    [string]$Server
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'
Import-Module ActiveDirectory

if ($CreateAccount -and $Revoke) { throw '-CreateAccount and -Revoke exclude each other' }

# Schema and extended-right GUIDs (MS-ADSC / MS-ADTS).
$G = @{
    User          = [guid]'bf967aba-0de6-11d0-a285-00aa003049e2'
    ResetPassword = [guid]'00299570-246d-11d0-a768-00aa006e0529'
    UAC           = [guid]'bf967a68-0de6-11d0-a285-00aa003049e2'
    Description   = [guid]'bf967950-0de6-11d0-a285-00aa003049e2'
    Member        = [guid]'bf9679c0-0de6-11d0-a285-00aa003049e2'
    PSO           = [guid]'3bcd9db8-f84b-451c-952f-6c52b81f9ec6'
    None          = [guid]::Empty
}

$ad = @{}
if ($Server) { $ad.Server = $Server }
$domain = Get-ADDomain @ad
# Every object must exist before anything changes: a half-applied delegation is worse than none.
$ouObj = Get-ADOrganizationalUnit -Identity $OU @ad
$groupDNs = @(foreach ($g in $Group) {
    $obj = Get-ADGroup -Identity $g -Properties adminCount @ad
    if ($obj.adminCount -eq 1 -and -not $Revoke) {
        Write-Warning ("group $g is protected (adminCount=1): SDProp replaces its ACL within 60 minutes and makes " +
            "its members' passwords unresettable through the OU; see -AdminSDHolder and docs/agent.md")
    }
    $obj.DistinguishedName
})
$psoContainer = "CN=Password Settings Container,CN=System,$($domain.DistinguishedName)"
$adminSDHolderDN = "CN=AdminSDHolder,CN=System,$($domain.DistinguishedName)"

$existing = Get-ADUser -Filter "sAMAccountName -eq '$($Account -replace "'", "''")'" -Properties adminCount @ad
if ($CreateAccount -and -not $existing) {
    if ($PSCmdlet.ShouldProcess($Account, 'create the bind account')) {
        $password = Read-Host -AsSecureString "Password for $Account"
        New-ADUser -Name $Account -SamAccountName $Account -Path $domain.UsersContainer -AccountPassword $password `
            -Enabled $true -Description 'watchword-agent bind account (delegated, not an admin)' @ad
        $existing = Get-ADUser -Identity $Account -Properties adminCount @ad
    }
}
if (-not $existing) {
    if ($WhatIfPreference) { Write-Host "what if: $Account does not exist yet"; return }
    throw "account ${Account}: not found (create it, or pass -CreateAccount)"
}
if ($existing.adminCount -eq 1) {
    Write-Warning "$Account has adminCount=1 (a protected group's member): once delegated it should not be one"
}
if ($existing.DistinguishedName.EndsWith(",$($ouObj.DistinguishedName)", [StringComparison]::OrdinalIgnoreCase)) {
    Write-Warning "$Account lives inside the managed OU; keep the bind account outside it"
}
$sid = [System.Security.Principal.SecurityIdentifier]$existing.SID

# The AD: drive of the module, or one bound to -Server.
$drive = 'AD:'
if ($Server) {
    New-PSDrive -Name WatchwordAD -PSProvider ActiveDirectory -Root '//RootDSE/' -Server $Server -Scope Script | Out-Null
    $drive = 'WatchwordAD:'
}

function Rule([string]$rights, [guid]$objectType, [string]$inheritance, [guid]$inheritedType) {
    New-Object System.DirectoryServices.ActiveDirectoryAccessRule($sid,
        [System.DirectoryServices.ActiveDirectoryRights]$rights, [System.Security.AccessControl.AccessControlType]::Allow,
        $objectType, [System.DirectoryServices.ActiveDirectorySecurityInheritance]$inheritance, $inheritedType)
}

function Grant([string]$dn, [string]$what, $rules) {
    if (-not $PSCmdlet.ShouldProcess($dn, "grant $what")) { return }
    $acl = Get-Acl -Path "$drive\$dn"
    foreach ($r in $rules) { $acl.AddAccessRule($r) }
    Set-Acl -Path "$drive\$dn" -AclObject $acl
    Write-Host "granted on ${dn}: $what"
}

function Revoke([string]$dn) {
    $acl = Get-Acl -Path "$drive\$dn"
    # explicit rules only, identities as SIDs (an ACE for a deleted account has no name to translate)
    $mine = @($acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]) |
            Where-Object { $_.IdentityReference -eq $sid })
    if ($mine.Count -eq 0) { Write-Host "nothing to revoke on $dn"; return }
    if (-not $PSCmdlet.ShouldProcess($dn, "remove $($mine.Count) ACE(s) naming $Account")) { return }
    $acl.PurgeAccessRules($sid)
    Set-Acl -Path "$drive\$dn" -AclObject $acl
    Write-Host "revoked on ${dn}: $($mine.Count) ACE(s)"
}

if ($Revoke) {
    foreach ($dn in @($ouObj.DistinguishedName, $psoContainer, $adminSDHolderDN) + $groupDNs) { Revoke $dn }
    return
}

Grant $ouObj.DistinguishedName 'create and delete users; reset password, userAccountControl, description and read on its users' @(
    (Rule 'CreateChild, DeleteChild' $G.User 'All' $G.None),
    (Rule 'ExtendedRight' $G.ResetPassword 'Descendents' $G.User),
    (Rule 'ReadProperty, WriteProperty' $G.UAC 'Descendents' $G.User),
    (Rule 'ReadProperty, WriteProperty' $G.Description 'Descendents' $G.User),
    (Rule 'GenericRead' $G.None 'Descendents' $G.User))
foreach ($dn in $groupDNs) {
    Grant $dn 'member' @((Rule 'ReadProperty, WriteProperty' $G.Member 'None' $G.None))
}
Grant $psoContainer 'read fine-grained password settings' @((Rule 'GenericRead' $G.None 'Descendents' $G.PSO))
if ($AdminSDHolder) {
    Write-Warning ('granting on AdminSDHolder: the bind account can reset the password of every protected account, ' +
        "the Administrator's included, and change every protected group: guard it like a Domain Admin")
    Grant $adminSDHolderDN 'reset password, userAccountControl, description and member on protected objects' @(
        (Rule 'ExtendedRight' $G.ResetPassword 'None' $G.None),
        (Rule 'ReadProperty, WriteProperty' $G.UAC 'None' $G.None),
        (Rule 'ReadProperty, WriteProperty' $G.Description 'None' $G.None),
        (Rule 'ReadProperty, WriteProperty' $G.Member 'None' $G.None))
}
Write-Host "done: $Account may now manage user accounts in $($ouObj.DistinguishedName); remove it from Domain Admins if it is one"
