//! Bytes written as lower-case hexadecimal: hashes, signatures and random secrets.

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `length` random bytes from the operating system, as hexadecimal: secrets and keys.
#[cfg(feature = "ssr")]
pub fn random_hex(length: usize) -> String {
    use rand_core::RngCore;
    let mut bytes = vec![0_u8; length];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_become_two_lower_case_digits_each() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }
}
