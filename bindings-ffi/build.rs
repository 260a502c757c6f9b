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
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings-ffi/cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(out_dir.join("jwtgate.h"));
}
