//! libFuzzer entry point for [`portcullis_fuzz::admin_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::admin_json(data));
