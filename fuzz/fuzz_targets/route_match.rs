//! libFuzzer entry point for [`portcullis_fuzz::route_match`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::route_match(data));
