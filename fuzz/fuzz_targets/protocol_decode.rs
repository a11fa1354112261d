//! The signer's request decoder never panics on any frame body, and frame
//! headers are judged without reading the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_schema::protocol::{decode_request, encode_frame, frame_len};

fuzz_target!(|data: &[u8]| {
    if data.len() >= 4 {
        let _ = frame_len([data[0], data[1], data[2], data[3]]);
    }
    if let Ok(envelope) = decode_request(data) {
        // What decodes re-encodes and decodes to the same request.
        let frame = encode_frame(&envelope);
        assert_eq!(decode_request(&frame[4..]).ok(), Some(envelope));
    }
});
