//go:build jwtgate_release

package jwtgate

// The static library from `cargo build --release -p jwtgate-ffi`.

// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libjwtgate_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
import "C"
