package doctor

// ModemVendor is a maker of USB GSM modems, by USB vendor ID.
type ModemVendor struct {
	ID   string // lower-case hex, as sysfs and udev print it
	Name string
}

// ModemVendors are the vendors the package's udev rule
// (packaging/60-simgate.rules) tells ModemManager to leave alone; a test
// keeps the two lists in step.
var ModemVendors = []ModemVendor{
	{"12d1", "Huawei"},
	{"2c7c", "Quectel"},
	{"1199", "Sierra Wireless"},
	{"19d2", "ZTE"},
	{"1e0e", "SIMCom"},
	{"1bc7", "Telit"},
	{"1546", "u-blox"},
	{"2cb7", "Fibocom"},
}
