//! `docs/api.md` against the OpenAPI document the server serves: a section
//! for every operation, every documented status in it, and no endpoint the
//! document does not have.

use std::collections::BTreeSet;
use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::Value;

use crate::support::{app, send, state};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn api_md() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

async fn openapi() -> Value {
    let app = app(state(0)).await;
    let (status, _, doc) = send(&app, test::TestRequest::get().uri("/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// `(METHOD /path, [statuses])` for every operation of the document.
fn operations(doc: &Value) -> Vec<(String, Vec<String>)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            let statuses = operation["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .cloned()
                .collect();
            out.push((format!("{} {path}", method.to_uppercase()), statuses));
        }
    }
    out
}

/// The `## METHOD /path` sections of the page, with their text.
fn endpoint_sections(markdown: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            sections.extend(current.take());
            let is_endpoint = METHODS
                .iter()
                .any(|m| title.strip_prefix(m).is_some_and(|r| r.starts_with(' ')));
            if is_endpoint {
                current = Some((title.trim().to_owned(), String::new()));
            }
        } else if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections.extend(current);
    sections
}

/// Whether `word` occurs in `text` not as part of a longer word or number.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')
}

/// Every path the page names: a `/api/…` or `/health` token.
fn named_paths(markdown: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for start in ["/api/", "/health"] {
        for (at, _) in markdown.match_indices(start) {
            let before = markdown[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == ':') {
                continue;
            }
            let path: String = markdown[at..]
                .chars()
                .take_while(|c| is_path_char(*c))
                .collect();
            let path = path.trim_end_matches(['.', '/']).to_owned();
            paths.insert(path);
        }
    }
    paths
}

#[actix_web::test]
async fn api_md_documents_every_operation_and_status_of_the_openapi_document() {
    let doc = openapi().await;
    let markdown = api_md();
    let sections = endpoint_sections(&markdown);

    for (operation, statuses) in operations(&doc) {
        let (_, text) = sections
            .iter()
            .find(|(title, _)| *title == operation)
            .unwrap_or_else(|| panic!("docs/api.md has no section `## {operation}`"));
        for status in statuses {
            assert!(
                has_word(text, &status),
                "docs/api.md, `## {operation}`: status {status} is not mentioned"
            );
        }
    }
}

#[actix_web::test]
async fn api_md_names_no_endpoint_the_openapi_document_lacks() {
    let doc = openapi().await;
    let markdown = api_md();
    let known: Vec<String> = operations(&doc).into_iter().map(|(op, _)| op).collect();
    let known_paths: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();

    for (title, _) in endpoint_sections(&markdown) {
        assert!(
            known.contains(&title),
            "docs/api.md has a section `## {title}`, which the OpenAPI document lacks"
        );
    }
    for method in METHODS {
        for (at, _) in markdown.match_indices(&format!("{method} /")) {
            let path: String = markdown[at + method.len() + 1..]
                .chars()
                .take_while(|c| is_path_char(*c))
                .collect();
            let mention = format!("{method} {}", path.trim_end_matches(['.', '/']));
            assert!(
                known.contains(&mention),
                "docs/api.md mentions `{mention}`, which the OpenAPI document lacks"
            );
        }
    }
    let named = named_paths(&markdown);
    let unknown: Vec<&String> = named.iter().filter(|p| !known_paths.contains(*p)).collect();
    assert!(
        unknown.is_empty(),
        "docs/api.md names paths the OpenAPI document lacks: {unknown:?}"
    );
    assert!(named.len() >= 10, "the page was read: {named:?}");
}
