//! Compiles the `.proto` files with `protox` (pure Rust), so building needs no system `protoc`.
//! The trainer's config messages (`config.proto`, rendered from the trainer's settings) also
//! derive serde, so that a request's config becomes a config layer by its field names.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let files = [
        "qahm/annealer/v1/annealer.proto",
        "qahm/trainer/v1/trainer.proto",
        "qahm/trainer/v1/config.proto",
        "google/rpc/status.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("qahm_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&descriptors))?;
    let config_messages: Vec<String> = descriptors
        .file
        .iter()
        .filter(|f| f.name() == "qahm/trainer/v1/config.proto")
        .flat_map(|f| f.message_type.iter().map(|m| format!(".qahm.trainer.v1.{}", m.name())))
        .collect();
    let mut builder =
        tonic_prost_build::configure().file_descriptor_set_path(&descriptor_path).skip_protoc_run();
    for message in &config_messages {
        builder =
            builder.type_attribute(message, "#[derive(serde::Serialize, serde::Deserialize)]");
    }
    builder.compile_fds(descriptors)?;
    Ok(())
}
