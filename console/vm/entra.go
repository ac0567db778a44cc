package vm

import (
	"fmt"
	"regexp"
	"strings"
)

// EntraSettings are what an Entra ID agent needs to reach its client's tenant, as the enrolment picker asks for
// them and the enroll command passes them on (agent.json's entra fields). None is a secret: the certificate's
// private key stays in its file on the agent's machine.
type EntraSettings struct {
	TenantID string // the directory (tenant) ID of the client's Microsoft 365
	ClientID string // the app registration's application (client) ID
	// CertFile is the PEM file of the app's certificate credential on the agent's machine (with its key, or the key
	// in KeyFile).
	CertFile, KeyFile string
	UPNDomain         string // the verified domain the techs' accounts are created in (name@UPNDomain)
	UsageLocation     string // two-letter country code set on new users
	// Verify checks each new password by a sign-in that stops before MFA; off where the tenant blocks that flow.
	Verify bool
	// IssueTAP gives each just-in-time window a Temporary Access Pass, for a tenant that requires a second factor.
	IssueTAP bool
}

// DefaultEntraSettings are the picker's starting values.
func DefaultEntraSettings() EntraSettings {
	return EntraSettings{UsageLocation: "US", Verify: true}
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$`)
	countrRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

// Check names every field the agent could not work with, one error per field.
func (s EntraSettings) Check() error {
	var probs []string
	if !guidRE.MatchString(strings.TrimSpace(s.TenantID)) {
		probs = append(probs, "tenant ID: the directory (tenant) ID, a GUID")
	}
	if !guidRE.MatchString(strings.TrimSpace(s.ClientID)) {
		probs = append(probs, "client ID: the app registration's application (client) ID, a GUID")
	}
	if strings.TrimSpace(s.CertFile) == "" || strings.ContainsAny(s.CertFile, "'\n") {
		probs = append(probs, "certificate: the path of the app's certificate PEM file on the agent's machine")
	}
	if strings.ContainsAny(s.KeyFile, "'\n") {
		probs = append(probs, "key file: a path without quotes or line breaks")
	}
	if !domainRE.MatchString(strings.TrimSpace(s.UPNDomain)) {
		probs = append(probs, "UPN domain: a verified domain of the tenant, e.g. contoso.onmicrosoft.com")
	}
	if !countrRE.MatchString(strings.TrimSpace(s.UsageLocation)) {
		probs = append(probs, "usage location: a two-letter country code in capitals, e.g. US")
	}
	if len(probs) > 0 {
		return fmt.Errorf("entra settings: %s", strings.Join(probs, "; "))
	}
	return nil
}

// Flags are the enroll command's flags for s (after Check): paths quoted for the shell, the switches spelt out.
func (s EntraSettings) Flags() string {
	f := fmt.Sprintf(" --tenant-id %s --client-id %s --cert-file '%s'", strings.TrimSpace(s.TenantID), strings.TrimSpace(s.ClientID),
		strings.TrimSpace(s.CertFile))
	if k := strings.TrimSpace(s.KeyFile); k != "" {
		f += fmt.Sprintf(" --key-file '%s'", k)
	}
	return f + fmt.Sprintf(" --upn-domain %s --usage-location %s --verify=%t --issue-tap=%t", strings.TrimSpace(s.UPNDomain),
		strings.TrimSpace(s.UsageLocation), s.Verify, s.IssueTAP)
}
