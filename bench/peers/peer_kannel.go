package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// kannelPeer is bearerbox and smsbox, handed messages by its sendsms HTTP
// interface; bearerbox shares them among the AT smscs. A tuned OTP asks
// for priority 3.
type kannelPeer struct {
	bearer, smsbox *proc
	send, admin    int
	tuned          bool
}

func (k *kannelPeer) start(r rig) error {
	k.tuned = r.tuned
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	k.send, k.admin = ports[2], ports[0]
	cfg := filepath.Join(r.dir, "kannel.conf")
	data := map[string]any{"Admin": ports[0], "Box": ports[1], "Send": ports[2], "Dir": r.dir, "Ports": r.ports, "Tuned": r.tuned}
	if err := writeConfig("kannel.conf", cfg, data); err != nil {
		return err
	}
	var err error
	if k.bearer, err = startProc(r.dir, "bearerbox", "bearerbox", cfg); err != nil {
		return err
	}
	if err := waitListen(k.bearer, ports[1], 30*time.Second); err != nil {
		return fmt.Errorf("bearerbox: %w", err)
	}
	if k.smsbox, err = startProc(r.dir, "smsbox", "smsbox", cfg); err != nil {
		return err
	}
	if err := waitListen(k.smsbox, k.send, 30*time.Second); err != nil {
		return fmt.Errorf("smsbox: %w", err)
	}
	return k.waitOnline(len(r.ports))
}

// waitOnline polls bearerbox's status page until n smscs are online and
// the smsbox is connected: before that, sendsms queues ("3: Queued for
// later delivery") or drops the connection.
func (k *kannelPeer) waitOnline(n int) error {
	status := fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=bench", k.admin)
	err := poll(60*time.Second, func() (bool, error) {
		resp, err := http.Get(status)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_, boxes, _ := strings.Cut(string(b), "Box connections:")
		return strings.Count(string(b), "(online") >= n && strings.Contains(boxes, "smsbox"), nil
	})
	if err != nil {
		return fmt.Errorf("kannel: smscs not online: %w", err)
	}
	return nil
}

func (k *kannelPeer) submit(m message) error {
	q := url.Values{"username": {"bench"}, "password": {"bench"}, "to": {numberKey(m.to)}, "text": {m.text}}
	if m.otp && k.tuned {
		q.Set("priority", "3")
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(k.send) + "/cgi-bin/sendsms?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	// "0: Accepted for delivery" or "3: Queued for later delivery".
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("kannel sendsms: %s %s", resp.Status, body)
	}
	return nil
}

func (k *kannelPeer) stop() {
	k.smsbox.stop()
	k.bearer.stop()
}
