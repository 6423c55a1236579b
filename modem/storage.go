package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// receiveStorages are the message storages a modem may hold received SMS
// in (TS 27.005 §3.2.2): the SIM and the modem's own memory. A modem with
// the combined "MT" storage, or one whose SIM is full, keeps them in ME too.
var receiveStorages = []string{"SM", "ME"}

// ReadStorage returns the storage AT+CMGR, AT+CMGL and AT+CMGD use (<mem1>
// of AT+CPMS), as Init found it; "" before Init.
func (m *Modem) ReadStorage() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem
}

// ListStored lists every received message the modem holds: the read
// storage, then each other receive storage (SM, ME) the modem has, each
// switched to and back under one hold of the command line, with Mem set.
// A storage the modem refuses is noted and not asked again. Errors are
// only a lost port or ctx; a listing refused otherwise is logged.
func (m *Modem) ListStored(ctx context.Context) ([]StoredMessage, error) {
	list, err := m.ListMessages(ctx)
	if err != nil {
		return nil, err
	}
	read := m.ReadStorage()
	if strings.EqualFold(read, "MT") || strings.EqualFold(read, "SR") {
		return list, nil // MT lists SM and ME together; SR was left by a crash and Init logged it
	}
	for _, mem := range receiveStorages {
		if strings.EqualFold(mem, read) || m.lacks(mem) {
			continue
		}
		more, err := m.listIn(ctx, mem)
		var se storageError
		switch {
		case err == nil:
			list = append(list, more...)
		case fatal(err):
			return nil, fmt.Errorf("list messages in %s: %w", mem, err)
		case errors.As(err, &se):
			m.log.Debug("no such sms storage", "mem", mem, "err", err)
			m.noteLacks(mem)
		default:
			m.log.Warn("list messages", "mem", mem, "err", err)
		}
	}
	return list, nil
}

func (m *Modem) listIn(ctx context.Context, mem string) ([]StoredMessage, error) {
	var list []StoredMessage
	err := m.inStorage(ctx, mem, func(bool) error {
		lines, err := m.runLocked(ctx, "AT+CMGL=4")
		if err != nil {
			return err
		}
		list = parseCMGL(lines, mem)
		return nil
	})
	return list, err
}

// lacks reports whether the modem refused mem before.
func (m *Modem) lacks(mem string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.missing[strings.ToUpper(mem)]
}

func (m *Modem) noteLacks(mem string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing == nil {
		m.missing = map[string]bool{}
	}
	m.missing[strings.ToUpper(mem)] = true
}

// ReadFrom reads the message at mem/index, switching the read storage to
// mem and back when it is another one (a +CMTI naming "ME" while the read
// storage is "SM"). It leaves the message there: delete it with DeleteFrom
// once it is committed.
func (m *Modem) ReadFrom(ctx context.Context, mem string, index int) (StoredMessage, error) {
	if mem == "" || strings.EqualFold(mem, m.ReadStorage()) {
		return m.ReadMessage(ctx, index)
	}
	var sm StoredMessage
	err := m.inStorage(ctx, mem, func(bool) error {
		var err error
		sm, err = m.readLocked(ctx, strings.ToUpper(mem), index)
		return err
	})
	if err != nil {
		return sm, fmt.Errorf("read message %s/%d: %w", mem, index, err)
	}
	return sm, nil
}

// DeleteFrom deletes the message at mem/index, switching storage as
// ReadFrom does.
func (m *Modem) DeleteFrom(ctx context.Context, mem string, index int) error {
	if mem == "" || strings.EqualFold(mem, m.ReadStorage()) {
		return m.DeleteMessage(ctx, index)
	}
	err := m.inStorage(ctx, mem, func(bool) error {
		_, err := m.runLocked(ctx, "AT+CMGD="+strconv.Itoa(index))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete message %s/%d: %w", mem, index, err)
	}
	return nil
}
