//! Compiles the `.proto` files with `protox` (pure Rust), so building needs no system `protoc`.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let files = ["qahm/annealer/v1/annealer.proto", "google/rpc/status.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("qahm_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        .compile_fds(descriptors)?;
    Ok(())
}
