//! The base64 arrays SAPI's `qp` format is made of: standard alphabet with padding, values
//! little-endian (`f64` for biases and energies, `i32` for labels and counts).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

/// Why a base64 array cannot be read; `field` is its JSON key.
#[derive(Debug, Error, PartialEq)]
pub enum CodecError {
    #[error("{field} is not valid base64: {source}")]
    Base64 { field: &'static str, source: base64::DecodeError },
    #[error("{field} holds {bytes} bytes, not a whole number of {width}-byte values")]
    Ragged { field: &'static str, bytes: usize, width: usize },
}

pub(crate) fn encode_bytes(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn decode_bytes(text: &str, field: &'static str) -> Result<Vec<u8>, CodecError> {
    STANDARD.decode(text).map_err(|source| CodecError::Base64 { field, source })
}

pub(crate) fn encode_f64s(values: impl IntoIterator<Item = f64>) -> String {
    let bytes: Vec<u8> = values.into_iter().flat_map(f64::to_le_bytes).collect();
    encode_bytes(&bytes)
}

pub(crate) fn encode_i32s(values: impl IntoIterator<Item = i32>) -> String {
    let bytes: Vec<u8> = values.into_iter().flat_map(i32::to_le_bytes).collect();
    encode_bytes(&bytes)
}

fn words<const N: usize>(text: &str, field: &'static str) -> Result<Vec<[u8; N]>, CodecError> {
    let bytes = decode_bytes(text, field)?;
    let (words, rest) = bytes.as_chunks::<N>();
    if !rest.is_empty() {
        return Err(CodecError::Ragged { field, bytes: bytes.len(), width: N });
    }
    Ok(words.to_vec())
}

pub(crate) fn decode_f64s(text: &str, field: &'static str) -> Result<Vec<f64>, CodecError> {
    Ok(words::<8>(text, field)?.into_iter().map(f64::from_le_bytes).collect())
}

pub(crate) fn decode_i32s(text: &str, field: &'static str) -> Result<Vec<i32>, CodecError> {
    Ok(words::<4>(text, field)?.into_iter().map(i32::from_le_bytes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_is_written_as_pythons_quiet_nan() {
        // The cloud client's NaN, bytes 00 00 00 00 00 00 f8 7f, as in every recorded `lin`.
        assert_eq!(encode_f64s([f64::NAN]), "AAAAAAAA+H8=");
        assert_eq!(encode_f64s([1.0, -0.5]), "AAAAAAAA8D8AAAAAAADgvw==");
        assert_eq!(encode_i32s([0, 1, 4, 5]), "AAAAAAEAAAAEAAAABQAAAA==");
    }

    #[test]
    fn arrays_decode_and_refuse_ragged_or_bad_base64() {
        assert_eq!(decode_i32s("AAAAAAEAAAAEAAAABQAAAA==", "x").unwrap(), vec![0, 1, 4, 5]);
        assert_eq!(decode_f64s("", "x").unwrap(), Vec::<f64>::new());
        // 12 bytes: one f64 and half of another.
        assert_eq!(
            decode_f64s("AAAAAAAAAAAAAAAA", "energies").unwrap_err(),
            CodecError::Ragged { field: "energies", bytes: 12, width: 8 }
        );
        assert!(matches!(
            decode_i32s("AA*A", "active_variables"),
            Err(CodecError::Base64 { field: "active_variables", .. })
        ));
    }
}
