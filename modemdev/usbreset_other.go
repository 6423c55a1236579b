//go:build !linux

package modemdev

import "errors"

// usbfsReset needs Linux's usbfs.
func usbfsReset(node string) error { return errors.New("usbfs reset: not supported on this system") }
