//go:build !(linux && amd64) && !jwtgate_pkgconfig

package jwtgate

// The module carries a prebuilt library for linux/amd64 only. Elsewhere, install the C library
// (build it from the jwtgate repository: `make -C bindings-ffi install PREFIX=...`) and build
// with `-tags jwtgate_pkgconfig`.
var _ = jwtgate_has_no_prebuilt_library_for_this_platform_build_with_tag_jwtgate_pkgconfig
