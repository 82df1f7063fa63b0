//! The reference parser: never panics, its ranges lie in the input, and what it prints parses
//! back to the same reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagpin::reference::Image;

fuzz_target!(|text: &str| {
    let Ok(image) = Image::parse(text) else { return };
    for range in [Some(image.name_range.clone()), image.tag_range.clone(), image.digest_range.clone()].into_iter().flatten() {
        assert!(text.get(range).is_some());
    }
    let again = Image::parse(&image.to_string()).expect("a normalised reference parses");
    assert_eq!((again.registry, again.repository, again.tag, again.digest), (image.registry, image.repository, image.tag, image.digest));
});
