//! libFuzzer entry point for [`portcullis_fuzz::redirect_uri`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::redirect_uri(data));
