//! Minifies the admin API's `OpenAPI` document (`src/admin/openapi.json`, kept readable) into
//! `OUT_DIR`, where `admin::OPENAPI_JSON` includes it: the worker serves and carries the
//! document without its indentation.

use std::{env, fs, path::Path};

fn main() {
    let source = "src/admin/openapi.json";
    println!("cargo:rerun-if-changed={source}");
    let pretty = fs::read_to_string(source).expect("the OpenAPI document is readable");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("openapi.json");
    fs::write(out, minify(&pretty)).expect("OUT_DIR is writable");
}

/// `json` without the whitespace between its tokens (strings are copied as they are).
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}
