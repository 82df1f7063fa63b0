//! The embedded rule data (`rules/*.yaml`) turned into JSON at build time: every start reads
//! it, and a JSON parse costs a tenth of the YAML one (whose share of a 5-file pre-commit run
//! was a sixth of its instructions). The YAML files stay the source; a unit test checks that
//! both forms read the same.

use std::path::Path;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in ["default", "kestra"] {
        let source = format!("rules/{name}.yaml");
        println!("cargo::rerun-if-changed={source}");
        let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{source}: {e}"));
        let value: serde_json::Value =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{source}: {e}"));
        let json = serde_json::to_string(&value).expect("a YAML value is JSON");
        std::fs::write(Path::new(&out).join(format!("{name}.json")), json)
            .unwrap_or_else(|e| panic!("writing {name}.json: {e}"));
    }
}
