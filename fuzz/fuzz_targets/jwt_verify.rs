//! libFuzzer entry point for [`portcullis_fuzz::jwt_verify`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::jwt_verify(data));
