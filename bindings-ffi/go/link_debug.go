//go:build !jwtgate_release

package jwtgate

// The static library from `cargo build -p jwtgate-ffi` (debug profile). Build with
// `-tags jwtgate_release` to link target/release instead. The system libraries are what the
// Rust standard library and tokio need from libc.

// #cgo LDFLAGS: ${SRCDIR}/../../target/debug/libjwtgate_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
import "C"
