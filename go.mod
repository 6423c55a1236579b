module github.com/simgate/simgate

go 1.26

require (
	github.com/creack/pty v1.1.24 // indirect
	github.com/warthog618/sms v0.3.0 // indirect
	go.bug.st/serial v1.8.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)
