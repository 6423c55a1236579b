package webhook

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Webhook targets may be private or loopback addresses on purpose (the
// receivers of a self-hosted gateway are usually on its machine or LAN),
// but never link-local ones (169.254.0.0/16, fe80::/10) nor a cloud's
// metadata service: there a webhook could reach the machine's cloud
// credentials. Names are refused when an endpoint is created; addresses
// again at each connection, after DNS, so a name that resolves to one
// later is refused too.

// metadataHosts are the names of cloud metadata services.
var metadataHosts = map[string]bool{
	"metadata":                   true, // GCE's short name
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data":              true, // EC2
	"instance-data.ec2.internal": true,
}

// metadataAddrs are metadata services outside the link-local ranges.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"):   true, // EC2 over IPv6
}

// deniedHost says why host (a name or an address) may not be a webhook
// target, "" when it may.
func deniedHost(host string) string {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if metadataHosts[name] {
		return "is a cloud metadata service"
	}
	ip, err := netip.ParseAddr(name)
	if err != nil {
		return ""
	}
	return deniedAddr(ip)
}

func deniedAddr(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case metadataAddrs[ip]:
		return "is a cloud metadata service"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "is a link-local address (where cloud metadata services answer)"
	}
	return ""
}

// targetError is a connection the Notifier refused to open: the receiver
// never answered, and never will.
type targetError struct{ addr, reason string }

func (e *targetError) Error() string {
	return fmt.Sprintf("webhook target %s %s; refused", e.addr, e.reason)
}

// guardedDialer dials like http.DefaultTransport, refusing denied
// addresses once DNS has resolved them.
func guardedDialer() *net.Dialer {
	return &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("webhook target %q: %w", host, err)
			}
			if why := deniedAddr(ip); why != "" {
				return &targetError{addr: ip.WithZone("").String(), reason: why}
			}
			return nil
		},
	}
}
