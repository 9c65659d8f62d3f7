//! Colours of `validate`'s human output (`--color`), added to a report that `crate::escape` has
//! already made safe, so these ANSI sequences are the only ones that reach the terminal. The
//! report's layout is `conn_schema::Report::render`'s: a `PLACE: error[CODE]: message` line, a
//! snippet whose gutter ends in `|`, a line of carets, and `  = help: ...`. rustc's colours:
//! the severity red or yellow and bold, the place bold, the gutter blue, help cyan.

const ERROR: &str = "\u{1b}[1;31m";
const WARNING: &str = "\u{1b}[1;33m";
const BOLD: &str = "\u{1b}[1m";
const GUTTER: &str = "\u{1b}[1;34m";
const HELP: &str = "\u{1b}[1;36m";
const RESET: &str = "\u{1b}[0m";

/// `ok` in bold green, as `validate` writes it after a connection without errors.
pub(crate) const OK: &str = "\u{1b}[1;32mok\u{1b}[0m";

/// `report`, escaped already, with colours.
pub(crate) fn report(report: &str) -> String {
    let mut out = String::with_capacity(report.len() * 2);
    // The carets take the colour of the finding they belong to.
    let mut tone = ERROR;
    for line in report.split_inclusive('\n') {
        let (text, newline) = match line.strip_suffix('\n') {
            Some(text) => (text, "\n"),
            None => (line, ""),
        };
        if let Some((place, severity, rest)) = header(text) {
            tone = if severity == "error" { ERROR } else { WARNING };
            let (code, message) = rest.split_once("]: ").unwrap_or((rest, ""));
            out.push_str(&format!(
                "{BOLD}{place}{RESET}: {tone}{severity}[{code}]{RESET}: {message}"
            ));
        } else if let Some(help) = text.strip_prefix("  = help:") {
            out.push_str(&format!("  {HELP}= help:{RESET}{help}"));
        } else if let Some((gutter, snippet)) = gutter(text) {
            out.push_str(&format!("{GUTTER}{gutter}{RESET}"));
            if !snippet.is_empty() && snippet.trim_start().chars().all(|c| c == '^') {
                let carets = snippet.trim_start();
                let indent = &snippet[..snippet.len() - carets.len()];
                out.push_str(&format!("{indent}{tone}{carets}{RESET}"));
            } else {
                out.push_str(snippet);
            }
        } else {
            out.push_str(text);
        }
        out.push_str(newline);
    }
    out
}

/// A finding's first line: the place, `error` or `warning`, and the text after `[`.
fn header(line: &str) -> Option<(&str, &str, &str)> {
    if line.starts_with(' ') {
        return None;
    }
    ["error", "warning"].iter().find_map(|severity| {
        let marker = format!(": {severity}[");
        let (place, rest) = line.split_once(&marker)?;
        Some((place, *severity, rest))
    })
}

/// A snippet line: the gutter (spaces, a line number, ` |`) and what follows it.
fn gutter(line: &str) -> Option<(&str, &str)> {
    let bar = line.find('|')?;
    let before = &line[..bar];
    let is_gutter = !before.is_empty()
        && before.ends_with(' ')
        && before.trim().chars().all(|c| c.is_ascii_digit());
    is_gutter.then(|| line.split_at(bar + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_the_parts_of_a_report_and_nothing_else() {
        let plain = "a.json:3:3: error[unknown-key]: unknown key \"x: error[\"\n  |\n3 |   \"x\": 1\n  |   ^^^\n  = help: did you mean \"y\"?\nb.json: warning[cleartext-http]: m\n";
        let painted = report(plain);
        assert_eq!(
            painted,
            "\u{1b}[1ma.json:3:3\u{1b}[0m: \u{1b}[1;31merror[unknown-key]\u{1b}[0m: unknown key \"x: error[\"\n\
             \u{1b}[1;34m  |\u{1b}[0m\n\
             \u{1b}[1;34m3 |\u{1b}[0m   \"x\": 1\n\
             \u{1b}[1;34m  |\u{1b}[0m   \u{1b}[1;31m^^^\u{1b}[0m\n  \
             \u{1b}[1;36m= help:\u{1b}[0m did you mean \"y\"?\n\
             \u{1b}[1mb.json\u{1b}[0m: \u{1b}[1;33mwarning[cleartext-http]\u{1b}[0m: m\n"
        );
        // Without the colours, the text is the report itself.
        let stripped = painted
            .replace(ERROR, "")
            .replace(WARNING, "")
            .replace(BOLD, "")
            .replace(GUTTER, "")
            .replace(HELP, "")
            .replace(RESET, "");
        assert_eq!(stripped, plain);
    }
}
