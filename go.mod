module github.com/simgate/simgate

go 1.26

require (
	github.com/creack/pty v1.1.24
	github.com/warthog618/sms v0.3.0
	go.bug.st/serial v1.8.0
	golang.org/x/sys v0.43.0
)
