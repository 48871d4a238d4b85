//! Fuzz target `create_purchase_answer`: see `glase_fuzz::create_purchase_answer` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::create_purchase_answer(data));
