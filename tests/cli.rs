//! CLI snapshot tests: each `tests/cmd/*.toml` runs `tagpin` and compares stdout, stderr and the
//! exit code with the files beside it (`TRYCMD=overwrite cargo test --test cli` rewrites them).

#[test]
fn cli() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
