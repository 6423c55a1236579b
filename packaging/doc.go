// Package packaging holds no code: its directory holds the .deb's
// description (nfpm.yaml, built by "make release"), the systemd unit, the
// udev rule, the packaged config and the maintainer scripts, and its tests
// build the package and check it: contents, the unit (systemd-analyze
// verify) and, on a CI machine, install, upgrade, remove and purge.
package packaging
