//! Generates the C header from this crate's source with cbindgen.
//!
//! The header is written to `$OUT_DIR/jwtgate.h` on every build, never into the source tree:
//! the committed `include/jwtgate.h` is compared with that fresh copy by the unit test
//! `committed_header_is_current` (run by `make -C bindings-ffi header-check` and by
//! `cargo test`), and rewritten by `make -C bindings-ffi header` (`JWTGATE_BLESS_HEADER=1`).

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    set_soname();
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings-ffi/cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(out_dir.join("jwtgate.h"));
}

/// The SONAME of the shared library as installed (`make -C bindings-ffi install`):
/// `libjwtgate.so.<abi>`, where the ABI version is the major version, or `0.<minor>` before 1.0
/// (a 0.x minor release may break the C ABI; cargo-c names libraries the same way). Programs
/// linked against one release then refuse a library whose ABI differs instead of crashing.
/// Cargo names the file libjwtgate_ffi.so; the install step names it libjwtgate.so.<version>.
fn set_soname() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("set by cargo");
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libjwtgate.so.{abi}");
}
