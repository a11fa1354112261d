//! The parent's decoder of the signing child's replies never panics on any
//! frame body: a broken or hostile child gets a transport error, not a crash
//! of the app.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_schema::protocol::decode_response;

fuzz_target!(|data: &[u8]| {
    let _ = decode_response(data);
});
