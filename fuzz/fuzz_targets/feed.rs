#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    tidings::tools::fuzzing::feed(bytes);
});
