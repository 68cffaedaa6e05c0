//! The YAML log reader through the check pipeline (flag byte: gzip, collapse, order).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| procedo_fuzz::check_log("yaml", data));
