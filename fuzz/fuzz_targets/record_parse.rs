//! The sealed-record parser never panics, and what it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_schema::SealedKeyRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = SealedKeyRecord::parse(data) {
        let encoded = record.encode().expect("a parsed record re-encodes");
        assert_eq!(encoded, data, "parse/encode is not canonical");
    }
});
