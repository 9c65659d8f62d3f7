//! The reference's document model (headings, paragraphs, lists and code) and its two renderings:
//! Markdown for `docs/reference.md`, a standalone HTML page (no JavaScript) for the site.

/// A piece of the document; text is inline Markdown (code spans and links only).
pub(crate) enum Block {
    Heading(u8, String),
    Paragraph(String),
    /// Items, each with nested items.
    List(Vec<(String, Vec<String>)>),
    Code(&'static str, String),
}

/// The blocks as Markdown.
pub(crate) fn markdown(blocks: Vec<Block>) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                out.push_str(&format!("{} {text}\n\n", "#".repeat(usize::from(level))));
            }
            Block::Paragraph(text) => out.push_str(&format!("{text}\n\n")),
            Block::List(items) => {
                for (item, children) in items {
                    out.push_str(&format!("- {item}\n"));
                    for child in children {
                        out.push_str(&format!("  - {child}\n"));
                    }
                }
                out.push('\n');
            }
            Block::Code(language, text) => {
                out.push_str(&format!("```{language}\n{text}```\n\n"));
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The blocks as a standalone HTML page.
pub(crate) fn html(blocks: Vec<Block>) -> String {
    let mut body = String::new();
    // Keys such as `audience` appear under several providers; ids get GitHub's `-1`, `-2`, ...
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let base = slug(&text);
                let count = seen.entry(base.clone()).or_insert(0);
                let id = if *count == 0 {
                    base
                } else {
                    format!("{base}-{count}")
                };
                *count += 1;
                body.push_str(&format!(
                    "<h{level} id=\"{id}\">{}</h{level}>\n",
                    inline_html(&text)
                ));
            }
            Block::Paragraph(text) => body.push_str(&format!("<p>{}</p>\n", inline_html(&text))),
            Block::List(items) => {
                body.push_str("<ul>\n");
                for (item, children) in items {
                    body.push_str(&format!("<li>{}", inline_html(&item)));
                    if !children.is_empty() {
                        body.push_str("\n<ul>\n");
                        for child in children {
                            body.push_str(&format!("<li>{}</li>\n", inline_html(&child)));
                        }
                        body.push_str("</ul>\n");
                    }
                    body.push_str("</li>\n");
                }
                body.push_str("</ul>\n");
            }
            Block::Code(language, text) => body.push_str(&format!(
                "<pre><code class=\"language-{language}\">{}</code></pre>\n",
                escape(&text)
            )),
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>OpenAI connection reference</title>\n<style>\n{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )
}

const STYLE: &str = "body { font-family: system-ui, sans-serif; line-height: 1.5; margin: 0; }\n\
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }\n\
code, pre { font-family: ui-monospace, monospace; font-size: 0.92em; }\n\
code { background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }\n\
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; border-radius: 4px; }\n\
pre code { background: none; padding: 0; }\n\
h2 { border-bottom: 1px solid #ddd; margin-top: 2.5rem; }\n\
h3 { margin-top: 1.8rem; }\n";

/// GitHub's heading anchors: lower case, spaces to `-`, punctuation other than `-` and `_` dropped.
pub(crate) fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Inline Markdown to HTML: code spans and `[text](#anchor or URL)` links; everything escaped.
fn inline_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`')
            && let Some(end) = after.find('`')
        {
            out.push_str(&format!("<code>{}</code>", escape(&after[..end])));
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('[')
            && let Some(close) = after.find("](")
            && let Some(end) = after[close + 2..].find(')')
        {
            let label = &after[..close];
            let target = &after[close + 2..close + 2 + end];
            out.push_str(&format!(
                "<a href=\"{}\">{}</a>",
                escape(target),
                inline_html(label)
            ));
            rest = &after[close + 3 + end..];
            continue;
        }
        let next = rest[1..]
            .find(['`', '['])
            .map_or(rest.len(), |index| index + 1);
        out.push_str(&escape(&rest[..next]));
        rest = &rest[next..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_text_and_renders_code_and_links() {
        assert_eq!(
            inline_html("a <b> `x<y>` [the `z`](#z) & c"),
            "a &lt;b&gt; <code>x&lt;y&gt;</code> <a href=\"#z\">the <code>z</code></a> &amp; c"
        );
        assert_eq!(slug("Provider `github_actions`"), "provider-github_actions");
        let page = super::super::html(conn_schema::schema::SCHEMA_BASE_URL);
        assert!(page.starts_with("<!doctype html>"));
        assert!(!page.contains("<script"));
        assert!(page.contains("<h2 id=\"provider-gcp\">Provider <code>gcp</code></h2>"));
        // Every id is unique, though `audience` is a key of two providers.
        let ids: Vec<&str> = page
            .split(" id=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let unique: std::collections::HashSet<&&str> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.contains(&"audience-1"));
    }
}
