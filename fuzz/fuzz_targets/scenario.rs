//! Fuzz target `scenario`: see `glase_fuzz::scenario` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::scenario(data));
