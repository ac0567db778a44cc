package wire

import (
	"strconv"
	"time"
)

// Password history: the hub keeps the tenant policy's HistoryDepth newest confirmed versions of each
// account, sealed as they were, so a tech can read a previous password back (for a service or a restored backup
// that still holds it). Reading it is audited (credential.history). The recovery recipient opens every version.

// PathTechAccounts prefixes per-account tech routes: GET PathTechAccounts/{id}/history (TechHistoryPath).
const PathTechAccounts = "/v1/tech/accounts"

// TechHistoryPath is the history route of one of the calling tech's accounts.
func TechHistoryPath(account int64) string {
	return PathTechAccounts + "/" + strconv.FormatInt(account, 10) + "/history"
}

// HistoryResponse is an account's password history: up to Depth versions that were confirmed on the target at
// some point, newest first (the current one first, unless a newer one is still staged). Open each envelope with
// hubclient.SealContext(ClientGUID, AgentID, AccountName, version) and the tech's identity.
type HistoryResponse struct {
	ClientGUID  string              `json:"clientGuid"`
	AccountID   int64               `json:"accountId"`
	AgentID     int64               `json:"agentId"`
	AccountName string              `json:"accountName"`
	Depth       int                 `json:"depth"` // the policy's HistoryDepth when the history was read
	Versions    []CredentialVersion `json:"versions"`
	ReadAt      time.Time           `json:"readAt"`
}
