//! Content digests: the SHA-256 of public content (a privacy policy's text, say), so a record
//! can name exactly which text it refers to.

use aws_lc_rs::digest;

/// The SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    digest::digest(&digest::SHA256, bytes).as_ref().iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_published_vector() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(super::sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
