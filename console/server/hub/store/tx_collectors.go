package store

import (
	"fmt"
	"time"
)

const collectorCols = "id, tenant_id, name, address, ca_pem, format, created_at, sent_seq, sent_at, head_at"

func scanCollector(sc scanner) (*Collector, error) {
	var c Collector
	var created, sent, head int64
	if err := sc.Scan(&c.ID, &c.TenantID, &c.Name, &c.Address, &c.CAPEM, &c.Format, &created, &c.SentSeq, &sent, &head); err != nil {
		return nil, err
	}
	c.CreatedAt, c.SentAt, c.HeadAt = tm(created), tm(sent), tm(head)
	return &c, nil
}

func (x *tx) CreateCollector(c *Collector) error {
	c.SentSeq, c.SentAt, c.HeadAt = 0, time.Time{}, time.Time{}
	return x.create(&c.ID, fmt.Sprintf("create audit collector %q", c.Name),
		"INSERT INTO audit_collectors (tenant_id, name, address, ca_pem, format, created_at) VALUES (?,?,?,?,?,?)",
		c.TenantID, c.Name, c.Address, c.CAPEM, c.Format, ns(c.CreatedAt))
}

func (x *tx) Collector(tenant, id int64) (*Collector, error) {
	return row(x, fmt.Sprintf("audit collector %d", id), scanCollector, collectorCols, "audit_collectors", "id", tenant, id)
}

func (x *tx) Collectors(tenant int64) ([]Collector, error) {
	return queryAll(x, "list audit collectors", scanCollector,
		"SELECT "+collectorCols+" FROM audit_collectors WHERE tenant_id = ? ORDER BY name", tenant)
}

func (x *tx) DeleteCollector(tenant, id int64) error {
	return x.one(fmt.Sprintf("delete audit collector %d", id), "DELETE FROM audit_collectors WHERE tenant_id = ? AND id = ?", tenant, id)
}

func (x *tx) SetCollectorSent(tenant, id, seq int64, at time.Time) error {
	op := fmt.Sprintf("audit collector %d cursor", id)
	if _, err := x.Collector(tenant, id); err != nil {
		return err
	}
	_, err := x.exec(op, "UPDATE audit_collectors SET sent_seq = ?, sent_at = ? WHERE tenant_id = ? AND id = ? AND sent_seq < ?",
		seq, ns(at), tenant, id, seq)
	return err
}

func (x *tx) SetCollectorHead(tenant, id int64, at time.Time) error {
	return x.one(fmt.Sprintf("audit collector %d head", id), "UPDATE audit_collectors SET head_at = ? WHERE tenant_id = ? AND id = ?",
		ns(at), tenant, id)
}
