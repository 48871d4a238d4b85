//! Fuzz target `soap_request`: see `glase_fuzz::soap_request` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::soap_request(data));
