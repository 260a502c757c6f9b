//go:build !jwtgate_release && !jwtgate_pkgconfig

package jwtgate

// In the jwtgate repository: the static library from `cargo build -p jwtgate-ffi` (debug
// profile) and the committed header. Build with `-tags jwtgate_release` to link target/release
// instead. The system libraries are what the Rust standard library and tokio need from libc.
// `make dist` publishes the module without this file (packaging/goproxy.py writes link_prebuilt.go).

// #cgo CFLAGS: -I${SRCDIR}/../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/debug/libjwtgate_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
import "C"
