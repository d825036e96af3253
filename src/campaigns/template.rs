//! Message templates with personalisation tokens: `{{first_name}}`, `{{name}}`, `{{city}}`, `{{total_spend}}`,
//! each with an optional fallback for customers without that value: `{{first_name|there}}`.

use crate::{customers::model::CustomerRow, shared::money::money};
use serde::{Deserialize, Serialize};

pub const MAX_TEMPLATE_LENGTH: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Token {
    FirstName,
    Name,
    City,
    TotalSpend,
}

impl Token {
    pub const ALL: [Token; 4] = [
        Token::FirstName,
        Token::Name,
        Token::City,
        Token::TotalSpend,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Token::FirstName => "first_name",
            Token::Name => "name",
            Token::City => "city",
            Token::TotalSpend => "total_spend",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Token { token: Token, fallback: String },
}

/// A checked template, ready to render for any recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a template is filled with for one recipient; a missing or blank value takes the token's fallback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientFields {
    pub name: String,
    pub city: Option<String>,
    pub total_spend: String,
}

/// A customer's fields as a message uses them: the one place a new customer field becomes a template value.
impl From<&CustomerRow> for RecipientFields {
    fn from(customer: &CustomerRow) -> Self {
        RecipientFields {
            name: customer.name.clone(),
            city: customer.city.clone(),
            total_spend: money(customer.total_spend_cents),
        }
    }
}

impl RecipientFields {
    fn value(&self, token: Token) -> Option<String> {
        let value = match token {
            Token::FirstName => self.name.split_whitespace().next().map(str::to_owned),
            Token::Name => Some(self.name.trim().to_owned()),
            Token::City => self.city.clone(),
            Token::TotalSpend => Some(self.total_spend.clone()),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

impl Template {
    /// Reads a template; the error names the first unknown or unfinished token.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("Write the message.".to_owned());
        }
        if text.chars().count() > MAX_TEMPLATE_LENGTH {
            return Err(format!(
                "A message has at most {MAX_TEMPLATE_LENGTH} characters."
            ));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| "A token is not closed: add “}}”.".to_owned())?;
            let inside = &after[..end];
            let (key, fallback) = match inside.split_once('|') {
                Some((key, fallback)) => (key.trim(), fallback.trim().to_owned()),
                None => (inside.trim(), String::new()),
            };
            let token = Token::ALL
                .into_iter()
                .find(|t| t.key() == key)
                .ok_or_else(|| {
                    let known: Vec<String> = Token::ALL
                        .iter()
                        .map(|t| format!("{{{{{}}}}}", t.key()))
                        .collect();
                    format!("Unknown token “{{{{{key}}}}}”; use {}.", known.join(", "))
                })?;
            parts.push(Part::Token { token, fallback });
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    pub fn render(&self, fields: &RecipientFields) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Token { token, fallback } => {
                    fields.value(*token).unwrap_or_else(|| fallback.clone())
                }
            })
            .collect()
    }
}

/// Where each web link (`http://` or `https://`) starts and ends in a message. A link runs to the next space,
/// quote or angle bracket; punctuation that ends a sentence after it is not part of it.
pub fn link_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| text[from..].find(scheme))
        .min()
    {
        let start = from + found;
        let rest = &text[start..];
        let mut end = start
            + rest
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '“' | '”' | '‘' | '’')
                })
                .unwrap_or(rest.len());
        while end > start && text[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', ']']) {
            end -= 1;
        }
        if text[start..end]
            .split_once("://")
            .is_some_and(|(_, host)| !host.is_empty())
        {
            spans.push(start..end);
        }
        from = end.max(start + 1);
    }
    spans
}

/// The links of a campaign's message, each once, in order: the only places a tracked click may lead. A link that
/// holds a token (`{{…}}`) differs per recipient and is left untracked.
pub fn links(template: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for span in link_spans(template) {
        let link = &template[span];
        if !link.contains("{{") && !links.iter().any(|known| known == link) {
            links.push(link.to_owned());
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> RecipientFields {
        RecipientFields {
            name: "Ada Lovelace".into(),
            city: Some("London".into()),
            total_spend: "120.50".into(),
        }
    }

    #[test]
    fn tokens_are_filled_for_the_recipient() {
        let template = Template::parse(
            "Hi {{first_name}} from {{ city }}! You spent {{total_spend}}. — {{name}}",
        )
        .unwrap();
        assert_eq!(
            template.render(&ada()),
            "Hi Ada from London! You spent 120.50. — Ada Lovelace"
        );
    }

    #[test]
    fn a_missing_value_takes_the_fallback() {
        let template =
            Template::parse("Hi {{first_name|there}}, news from {{city|your town}}{{city}}.")
                .unwrap();
        let nameless = RecipientFields {
            name: " ".into(),
            city: None,
            total_spend: "0.00".into(),
        };
        assert_eq!(template.render(&nameless), "Hi there, news from your town.");
    }

    #[test]
    fn unknown_and_unclosed_tokens_are_refused() {
        assert_eq!(
            Template::parse("Hi {{surname}}").unwrap_err(),
            "Unknown token “{{surname}}”; use {{first_name}}, {{name}}, {{city}}, {{total_spend}}."
        );
        assert_eq!(
            Template::parse("Hi {{name").unwrap_err(),
            "A token is not closed: add “}}”."
        );
        assert_eq!(Template::parse("  ").unwrap_err(), "Write the message.");
        assert_eq!(
            Template::parse("No tokens at all").unwrap().render(&ada()),
            "No tokens at all"
        );
    }

    #[test]
    fn links_are_found_without_the_punctuation_around_them() {
        let text = "See https://shop.example/sale?x=1. Or (http://a.example/b), “https://c.example”, <https://d.example/>!";
        let found: Vec<&str> = link_spans(text)
            .into_iter()
            .map(|span| &text[span])
            .collect();
        assert_eq!(
            found,
            [
                "https://shop.example/sale?x=1",
                "http://a.example/b",
                "https://c.example",
                "https://d.example/"
            ]
        );
        assert!(link_spans("no links, just http:// and https://").is_empty());
    }

    #[test]
    fn a_campaigns_links_are_listed_once_and_personal_ones_are_left_out() {
        assert_eq!(
            links("Shop https://a.example/x and https://a.example/x, or https://b.example/?u={{name}} or http://c.example"),
            ["https://a.example/x", "http://c.example"]
        );
    }
}
