#![no_main]
//! The package reader: any bytes, no panic, and nothing verifies against a key that
//! did not sign it.

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Ok(package) = hearth_package::Package::read(bytes) {
        let key = ed25519_dalek_key();
        assert!(package.verify(Some(&[key])).is_err());
    }
});

fn ed25519_dalek_key() -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key()
}
