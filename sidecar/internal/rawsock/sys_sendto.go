//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package rawsock

import (
	"syscall"
	"unsafe"
)

// recv and send are recvfrom and sendto without an address: on Linux they
// reach the socket without read and write's file layer (access checks,
// change notification). Like peek they are raw system calls, made without
// telling the scheduler (syscall.RawSyscall6): with MSG_DONTWAIT (below)
// they never wait, and a call the scheduler knows of costs the hand-off
// bookkeeping on the way in and out, and, when the kernel takes a while
// (on loopback a send also does the receiver's work), the runtime's
// monitor handing the processor to another thread. Measured with the
// fast path under wrk (bench/README.md): about 15 % less CPU per request,
// context switches per request 0.36 to 0.24.
//
// Both pass MSG_DONTWAIT: that they never wait must not rest on the socket
// being in non-blocking mode, which a File and its Fd (older code setting a
// socket option does that) turn off for the connection too. A raw call
// that waits keeps its thread and processor out of the scheduler's sight:
// the next stop-the-world, and with it the whole process, would wait until
// the peer sends or reads.
func recv(fd uintptr, p []byte) (int, error) {
	return sysIO(syscall.SYS_RECVFROM, fd, p, syscall.MSG_DONTWAIT)
}

// send passes MSG_NOSIGNAL: a peer that reset the connection fails the
// call with EPIPE, without a SIGPIPE for the runtime to field.
func send(fd uintptr, p []byte) (int, error) {
	return sysIO(syscall.SYS_SENDTO, fd, p, syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT)
}

// peek is recvfrom with MSG_PEEK|MSG_DONTWAIT.
func peek(fd uintptr, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

func sysIO(trap, fd uintptr, p []byte, flags uintptr) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, errno := syscall.RawSyscall6(trap, fd, uintptr(ptr), uintptr(len(p)), flags, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}
