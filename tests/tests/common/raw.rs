//! Raw request bytes on the wire: what a broken or hostile client can send, for tests of
//! what a server answers to a request it cannot read.

use std::marker::PhantomData;

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// A codec that sends raw bytes as the request message and reads responses of type `D`.
pub struct RawRequests<D>(PhantomData<fn() -> D>);

impl<D> Default for RawRequests<D> {
    fn default() -> Self {
        RawRequests(PhantomData)
    }
}

pub struct RawEncoder;

pub struct ResponseDecoder<D>(PhantomData<fn() -> D>);

impl<D: prost::Message + Default + Send + 'static> tonic::codec::Codec for RawRequests<D> {
    type Encode = Vec<u8>;
    type Decode = D;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder<D>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder<D> {
        ResponseDecoder(PhantomData)
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl<D: prost::Message + Default> tonic::codec::Decoder for ResponseDecoder<D> {
    type Item = D;
    type Error = Status;

    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<D>, Status> {
        D::decode(src).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

/// Bytes no protobuf message decodes from: field 31 with wire type 7, which does not exist.
pub const GARBAGE: [u8; 16] = [0xff; 16];

/// A message just over the servers' 4 MiB decoding limit.
pub fn oversized() -> Vec<u8> {
    vec![0u8; 5 << 20]
}

/// Sends `bytes` as the request of the unary method at `path` (e.g.
/// `/qahm.trainer.v1.Trainer/GetRun`) and returns the status the call ended with.
pub async fn unary_raw<D: prost::Message + Default + Send + 'static>(
    channel: Channel,
    path: &'static str,
    bytes: Vec<u8>,
) -> Result<D, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    grpc.unary(Request::new(bytes), PathAndQuery::from_static(path), RawRequests::<D>::default())
        .await
        .map(tonic::Response::into_inner)
}
