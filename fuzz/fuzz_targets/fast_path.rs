//! Fuzz target `fast_path`: see `glase_fuzz::fast_path` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::fast_path(data));
