//! Random bytes from the operating system's CSPRNG (through aws-lc).

use crate::CryptoError;

/// `N` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CryptoError::Rng)?;
    Ok(bytes)
}
