//! Links that keep a list's filters while they change a page or a sort.

use leptos_router::params::ParamsMap;

/// A link to `path` with the current query kept, except `replaced` keys, and `set` added: how pagination links
/// move through a filtered list.
pub fn query_href(path: &str, query: &ParamsMap, replaced: &[&str], set: (&str, String)) -> String {
    let pairs = query
        .clone()
        .into_iter()
        .filter(|(key, _)| !replaced.contains(&key.as_ref()))
        .map(|(key, value)| (key.into_owned(), value))
        .chain(std::iter::once((set.0.to_owned(), set.1)));
    let encoded: Vec<String> = pairs
        .map(|(key, value)| {
            format!(
                "{key}={}",
                percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    format!("{path}?{}", encoded.join("&"))
}
