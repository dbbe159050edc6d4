//! libFuzzer entry point for [`portcullis_fuzz::request_headers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::request_headers(data));
