//go:build linux

package modemdev

import (
	"fmt"
	"os"
	"syscall"
)

// usbdevfsReset is USBDEVFS_RESET, _IO('U', 20) (linux/usbdevice_fs.h).
const usbdevfsReset = 0x5514

// usbfsReset resets the USB device whose usbfs node is node.
func usbfsReset(node string) error {
	f, err := os.OpenFile(node, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("usbfs reset: %w", err)
	}
	defer f.Close()
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), usbdevfsReset, 0); errno != 0 {
		return fmt.Errorf("usbfs reset %s: %w", node, errno)
	}
	return nil
}
