//! libFuzzer entry point for [`portcullis_fuzz::issuer_token`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::issuer_token(data));
