//! The block fast path against saphyr-parser: on any text, the stream tagpin builds (nodes,
//! spans, values, documents) or the error it reports is the one saphyr alone gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagpin::yaml::Stream;

fuzz_target!(|text: &str| {
    match (Stream::parse(text), Stream::parse_by_saphyr(text)) {
        (Ok(fast), Ok(saphyr)) => assert_eq!(format!("{fast:?}"), format!("{saphyr:?}")),
        (Err(fast), Err(saphyr)) => assert_eq!(fast, saphyr),
        (fast, saphyr) => panic!("{fast:?} / {saphyr:?}"),
    }
});
