// Package modemdev adapts the AT driver (package modem) to the gateway's
// Device interface, so that package gateway never imports the driver.
//
// It translates, without adding behaviour of its own:
//   - +CMS ERROR codes (3GPP TS 27.005 §3.2.5, with the RP-causes of TS
//     24.011 E-2 and the TP-FCS of TS 23.040 §9.2.3.22) into the gateway's
//     send error classes and readable reasons, and +CME ERROR (3GPP TS
//     27.007 §9.2), timeouts and a lost port into modem-state errors or
//     gateway.ErrDeviceGone;
//   - the unsolicited results of TS 27.005 §3.4.1 (+CMTI, +CMT, +CDS,
//     +CDSI) and TS 27.007 §7.2 (+CREG, +CGREG, +CEREG), plus the reset
//     announcements of the modem, into gateway.DeviceEvent values, in order;
//   - +CREG/+COPS/+CSQ (TS 27.007 §7.2, §7.3, §8.5) into one health reading.
//
// It also resets the USB device of a tty (ResetUSB: the usbfs ioctl
// USBDEVFS_RESET, else the sysfs "authorized" file), the last rung before
// a hung modem is looked for on every port.
package modemdev
