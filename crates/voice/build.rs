//! espeak-ng (built from source by espeak-rs-sys for piper-rs) links libsonic. Its CMake
//! finds the system's static libsonic (Debian: libsonic-dev) instead of git-cloning
//! sonic, which fails offline; but espeak-rs-sys does not tell rustc to link it, so we
//! do here.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DICEBARD_SONIC_LIB_DIR");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" {
        return;
    }
    let dir = std::env::var("DICEBARD_SONIC_LIB_DIR").unwrap_or_else(|_| {
        let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
        let triple = match arch.as_str() {
            "aarch64" => "aarch64-linux-gnu",
            _ => "x86_64-linux-gnu",
        };
        format!("/usr/lib/{triple}")
    });
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=static=sonic");
}
