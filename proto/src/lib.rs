//! Concord's protobuf contracts: the generated messages, clients and servers
//! of every service, the encoded descriptor set for server reflection, and
//! the role policy of every RPC compiled from the `.proto` options.
#![forbid(unsafe_code)]

#[allow(clippy::all, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/concord.rs"));
}

pub use generated::concord::*;

/// The encoded `FileDescriptorSet` of every contract and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("concord_descriptor");

pub mod codec;
pub mod policy_table;
