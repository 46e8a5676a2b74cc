//! The console's built assets (`console/dist`, written by `cargo xtask console`) are
//! embedded by `rust-embed`, which tracks the files it found; a new or removed file,
//! or a first build, must also rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=../console/dist");
}
