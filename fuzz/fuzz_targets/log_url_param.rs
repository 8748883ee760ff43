#![no_main]
//! The log's `?url=` query parameter (`/add` and `/lookup`): the one `url` parameter, strictly
//! percent-decoded. An accepted value is non-empty and comes back unchanged when encoded as the client
//! encodes it; percent-decoding undoes percent-encoding for any text.
use libfuzzer_sys::fuzz_target;
use rget_fetch::percent_encode;
use rget::log::server::{percent_decode, url_param};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(percent_decode(&percent_encode(query)).as_deref(), Ok(query));
    let Ok(url) = url_param(Some(query)) else {
        return;
    };
    assert!(!url.is_empty());
    let again = format!("url={}", percent_encode(&url));
    assert_eq!(url_param(Some(&again)).as_deref(), Ok(url.as_str()));
});
