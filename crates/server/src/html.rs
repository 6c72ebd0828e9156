//! The little HTML the server writes itself (the privacy policy page, the unsubscribe pages):
//! escaping, and a deliberately small Markdown subset for the policy text. Everything the text
//! holds is escaped first, so no markup in a policy file can reach the page.

/// `text` with the five HTML-special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Markdown blocks as HTML: `#`/`##`/`###` headings, `-` or `*` list items (indented lines
/// continue an item), and paragraphs separated by blank lines. Inline markup is shown as typed.
pub fn markdown(text: &str) -> String {
    let mut html = String::new();
    let mut block: Option<Block> = None;
    for line in text.lines().map(str::trim_end) {
        let heading = line.find(|c| c != '#').filter(|&level| (1..=3).contains(&level) && line[level..].starts_with(' '));
        let item = line.strip_prefix("- ").or_else(|| line.strip_prefix("* "));
        if line.is_empty() {
            flush(&mut html, block.take());
        } else if let Some(level) = heading {
            flush(&mut html, block.take());
            // Level 1 is the page's own title; the policy's headings sit under it.
            element(&mut html, ["h2", "h3", "h4"][level - 1], line[level..].trim());
        } else if let Some(item) = item {
            if let Some(Block::List(items)) = &mut block {
                items.push(item.trim().to_owned());
            } else {
                flush(&mut html, block.take());
                block = Some(Block::List(vec![item.trim().to_owned()]));
            }
        } else {
            match &mut block {
                Some(Block::List(items)) if line.starts_with(char::is_whitespace) => {
                    if let Some(last) = items.last_mut() {
                        last.push(' ');
                        last.push_str(line.trim());
                    }
                }
                Some(Block::Paragraph(lines)) => lines.push(line.trim().to_owned()),
                _ => {
                    flush(&mut html, block.take());
                    block = Some(Block::Paragraph(vec![line.trim().to_owned()]));
                }
            }
        }
    }
    flush(&mut html, block);
    html
}

/// Appends `<name>text</name>`, the text escaped.
fn element(html: &mut String, name: &str, text: &str) {
    html.push('<');
    html.push_str(name);
    html.push('>');
    html.push_str(&escape(text));
    html.push_str("</");
    html.push_str(name);
    html.push('>');
}

/// A block being gathered: its lines or items.
enum Block {
    Paragraph(Vec<String>),
    List(Vec<String>),
}

fn flush(html: &mut String, block: Option<Block>) {
    match block {
        Some(Block::Paragraph(lines)) => element(html, "p", &lines.join(" ")),
        Some(Block::List(items)) => {
            html.push_str("<ul>");
            for item in items {
                element(html, "li", &item);
            }
            html.push_str("</ul>");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_the_text_is_escaped() {
        assert_eq!(escape(r#"<script>alert("x")</script> & 'y'"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
        assert_eq!(
            markdown("# <b>Title</b>\n\n<img src=x onerror=alert(1)>"),
            "<h2>&lt;b&gt;Title&lt;/b&gt;</h2><p>&lt;img src=x onerror=alert(1)&gt;</p>"
        );
    }

    #[test]
    fn blocks_become_headings_lists_and_paragraphs() {
        let text = "# Privacy\n\nWe keep\nlittle.\n\n## What\n- messages\n- your email, sealed\n  with your key\nThat is all.\n#hashtag";
        assert_eq!(
            markdown(text),
            "<h2>Privacy</h2><p>We keep little.</p><h3>What</h3><ul><li>messages</li><li>your email, sealed with your key</li></ul>\
             <p>That is all. #hashtag</p>"
        );
    }
}
