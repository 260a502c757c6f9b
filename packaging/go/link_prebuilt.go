//go:build linux && amd64 && !jwtgate_pkgconfig

package jwtgate

// The release static library built by `make dist` for linux/amd64 (glibc), shipped inside the
// module as wasmtime-go does, so `go get` + `go build` need no Rust toolchain. The system
// libraries are what the Rust standard library and tokio need from libc.
// With `-tags jwtgate_pkgconfig` an installed libjwtgate is linked instead (link_pkgconfig.go).

// #cgo CFLAGS: -I${SRCDIR}/include
// #cgo LDFLAGS: ${SRCDIR}/lib/linux_amd64/libjwtgate.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
import "C"
