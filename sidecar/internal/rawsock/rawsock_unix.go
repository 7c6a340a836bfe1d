//go:build unix && !aix

package rawsock

import "syscall"

const supported = true

// Read reads fd once without blocking; again reports that nothing was there.
func Read(fd uintptr, p []byte) (n int, again bool, err error) {
	n, err = recv(fd, p)
	for err == syscall.EINTR {
		n, err = recv(fd, p)
	}
	if err == syscall.EAGAIN {
		return 0, true, nil
	}
	return max(n, 0), false, err
}

// Write writes p to fd once without blocking, and returns how much the
// socket took; again reports that it took nothing.
func Write(fd uintptr, p []byte) (n int, again bool, err error) {
	n, err = send(fd, p)
	for err == syscall.EINTR {
		n, err = send(fd, p)
	}
	if err == syscall.EAGAIN {
		return 0, true, nil
	}
	return max(n, 0), false, err
}

// Peek looks at fd without taking anything and without blocking: data
// reports bytes to read, open that the peer has neither closed nor reset
// its end (with no bytes there either).
func Peek(fd uintptr) (data, open bool) {
	var b [1]byte
	n, err := peek(fd, b[:])
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return false, true
	case err == nil && n > 0:
		return true, true
	}
	return false, false
}
