package store

import (
	"database/sql"

	"github.com/simgate/simgate/gateway"
)

// Columns of data SMS (migration 0090), shared by messages and inbound.

// scanPorts is the ports of two nullable columns; nil when none.
func scanPorts(dest, src sql.NullInt64) *gateway.Ports {
	if !dest.Valid {
		return nil
	}
	return &gateway.Ports{Dest: int(dest.Int64), Source: int(src.Int64)}
}

// portArgs is the dest_port and source_port values of p.
func portArgs(p *gateway.Ports) (dest, src any) {
	if p == nil {
		return nil, nil
	}
	return p.Dest, p.Source
}

// blobArg stores an empty slice as NULL too: "none".
func blobArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
