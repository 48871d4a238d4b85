//! Fuzz target `control_body`: see `glase_fuzz::control_body` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::control_body(data));
