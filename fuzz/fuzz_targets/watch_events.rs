//! `watch`'s events through the monitor (flag byte: event clock, linger, timers).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| procedo_fuzz::watch_events(data));
