//! The qahm gRPC contract. [`pb`] holds the generated messages and services of
//! `qahm.annealer.v1`, [`trainer_pb`] those of `qahm.trainer.v1`; [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// Generated code, nested as the proto packages are (the generated paths rely on it).
pub mod qahm {
    pub mod annealer {
        pub mod v1 {
            tonic::include_proto!("qahm.annealer.v1");
        }
    }
    pub mod trainer {
        pub mod v1 {
            tonic::include_proto!("qahm.trainer.v1");
        }
    }
}

/// `google.rpc.Status`, the in-band error of a failed sampling request.
pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

pub use qahm::annealer::v1 as pb;
pub use qahm::trainer::v1 as trainer_pb;

/// The encoded `FileDescriptorSet` of every `.proto` file in this crate, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("qahm_descriptor");
