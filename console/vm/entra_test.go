package vm_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestEntraSettings: every field the agent could not work with is named; good settings become the enroll
// command's flags, the certificate's path quoted for the shell.
func TestEntraSettings(t *testing.T) {
	s := vm.DefaultEntraSettings()
	err := s.Check()
	for _, want := range []string{"tenant ID", "client ID", "certificate", "UPN domain"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("empty settings: %v, want %s named", err, want)
		}
	}
	s = vm.EntraSettings{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: "0d6f2f4c-4a8b-4f5e-9b1c-3c2d1e0f9a8b",
		CertFile: "/etc/watchword/my cert.pem", UPNDomain: "contoso.onmicrosoft.com", UsageLocation: "GB", IssueTAP: true}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Flags(), " --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 --client-id 0d6f2f4c-4a8b-4f5e-9b1c-3c2d1e0f9a8b --cert-file '/etc/watchword/my cert.pem' --upn-domain contoso.onmicrosoft.com --usage-location GB --verify=false --issue-tap=true"; got != want {
		t.Fatalf("flags\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []vm.EntraSettings{
		{TenantID: s.TenantID, ClientID: s.ClientID, CertFile: "/x'; rm -rf /", UPNDomain: s.UPNDomain, UsageLocation: "GB"},
		{TenantID: s.TenantID, ClientID: s.ClientID, CertFile: "/x.pem", UPNDomain: "contoso", UsageLocation: "GB"},
		{TenantID: s.TenantID, ClientID: s.ClientID, CertFile: "/x.pem", UPNDomain: s.UPNDomain, UsageLocation: "gbr"},
	} {
		if bad.Check() == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	g := vm.Grant{Agent: wire.Agent{Driver: wire.DriverEntra}, Groups: []string{"Exchange Administrator", "User Administrator"}}
	if got := g.GroupsText(); got != "Entra roles: Exchange Administrator, User Administrator" {
		t.Fatalf("entra groups %q", got)
	}
	g.Agent.Driver = wire.DriverAD
	if got := g.GroupsText(); got != "Exchange Administrator, User Administrator" {
		t.Fatalf("ad groups %q", got)
	}
}
