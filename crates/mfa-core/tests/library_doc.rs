//! `docs/library.md` quotes `examples/link_directly.rs`: every ```rust block
//! of the page must still be a run of lines of the example, so that the
//! page shows code that compiles and runs.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The lines of each ```rust block, trimmed, without blank lines.
fn rust_blocks(markdown: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    // The block being read, and whether it is Rust.
    let mut open: Option<(bool, Vec<String>)> = None;
    for line in markdown.lines() {
        match (&mut open, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim() == "rust", Vec::new())),
            (Some(_), Some(_)) => {
                if let Some((true, block)) = open.take() {
                    blocks.push(block);
                }
            }
            (Some((_, block)), None) if !line.trim().is_empty() => {
                block.push(line.trim().to_owned());
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn every_rust_block_of_library_md_is_quoted_from_the_example() {
    let page = read("../../docs/library.md");
    let example: Vec<String> = read("examples/link_directly.rs")
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let blocks = rust_blocks(&page);
    assert!(
        blocks.len() >= 5,
        "the page was read: {} blocks",
        blocks.len()
    );

    for block in blocks {
        assert!(
            example.windows(block.len()).any(|w| w == block.as_slice()),
            "docs/library.md shows code that examples/link_directly.rs does not have:\n{}",
            block.join("\n")
        );
    }
}
