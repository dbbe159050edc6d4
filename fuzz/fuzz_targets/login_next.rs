//! libFuzzer entry point for [`portcullis_fuzz::login_next`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::login_next(data));
