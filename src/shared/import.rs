//! Reading the files and request bodies people import: JSON lists and CSV files with a header line, turned into
//! JSON objects that the order and customer rules then check field by field. Reading stops at the limits as it
//! goes, so an oversized body is refused before it has been turned into millions of values.

use std::{cell::Cell, fmt};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How much one body may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Records (rows, list entries).
    pub records: usize,
    /// JSON values in all (every number, string, object, array and object entry counts one), which bounds the
    /// memory a body can take whatever its shape.
    pub values: usize,
    /// JSON values in one record: room for an order of 1,000 line items.
    pub values_per_record: usize,
}

impl ReadLimits {
    /// A request body: `records` at most, and on average 100 values per record.
    pub const fn request(records: usize) -> Self {
        Self {
            records,
            values: records * 100,
            values_per_record: 10_000,
        }
    }

    /// A file read in the browser, which splits it into requests itself.
    pub const UNLIMITED: Self = Self {
        records: usize::MAX,
        values: usize::MAX,
        values_per_record: usize::MAX,
    };
}

/// Most columns a CSV file may have.
pub const MAX_CSV_COLUMNS: usize = 100;

/// Why a body could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// It is not in the expected shape; the message names the problem.
    Invalid(String),
    /// It holds more than the limits allow: reading stopped there.
    TooLarge(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Invalid(message) | ReadError::TooLarge(message) => f.write_str(message),
        }
    }
}

impl From<ReadError> for String {
    fn from(error: ReadError) -> Self {
        error.to_string()
    }
}

impl ReadError {
    /// The error for a REST answer: 413 for a body over the limits, 400 naming `field` otherwise.
    pub fn into_app_error(self, field: &str) -> crate::shared::error::AppError {
        match self {
            ReadError::Invalid(message) => crate::shared::error::AppError::invalid(field, message),
            ReadError::TooLarge(message) => {
                crate::shared::error::AppError::PayloadTooLarge(message)
            }
        }
    }
}

/// The records of a JSON body, and whether it was one bare object rather than a list.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonRecords {
    pub records: Vec<Value>,
    pub single: bool,
}

fn too_many_records(key: &str, limit: usize) -> ReadError {
    ReadError::TooLarge(format!(
        "{key}: more than {limit} in one request; at most {limit} are accepted, send the rest in another request"
    ))
}

/// The records of `{"<key>": [...]}` (the API's shape) or a bare array; with `allow_single`, also one object
/// that is a record itself.
pub fn read_json(
    text: &str,
    key: &str,
    allow_single: bool,
    limits: ReadLimits,
) -> Result<JsonRecords, ReadError> {
    let budget = Budget {
        records: limits.records,
        values_left: Cell::new(limits.values),
        per_record: limits.values_per_record,
        record_values_left: Cell::new(limits.values_per_record),
        outcome: Cell::new(None),
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let read = TopLevel {
        key,
        budget: &budget,
    }
    .deserialize(&mut deserializer)
    .and_then(|top| deserializer.end().map(|()| top));
    if let Some(error) = budget.outcome.take() {
        return Err(error);
    }
    let top = read.map_err(|e| ReadError::Invalid(format!("the file is not valid JSON: {e}")))?;
    match top {
        Top::List(records) => Ok(JsonRecords {
            records,
            single: false,
        }),
        Top::Object(object) if allow_single && !object.is_empty() => Ok(JsonRecords {
            records: vec![Value::Object(object)],
            single: true,
        }),
        Top::Object(_) => Err(ReadError::Invalid(format!(
            "{key}: missing; send {{\"{key}\": [...]}}"
        ))),
        Top::Other => Err(ReadError::Invalid(format!("expected {{\"{key}\": [...]}}"))),
    }
}

/// The limits left while reading, and why reading stopped if a limit did it.
struct Budget {
    records: usize,
    values_left: Cell<usize>,
    per_record: usize,
    record_values_left: Cell<usize>,
    outcome: Cell<Option<ReadError>>,
}

impl Budget {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        let (Some(left), Some(record_left)) = (
            self.values_left.get().checked_sub(1),
            self.record_values_left.get().checked_sub(1),
        ) else {
            let message = if self.record_values_left.get() == 0 {
                format!(
                    "a record holds more than {} values; no record needs that many",
                    self.per_record
                )
            } else {
                "the body holds too many values; send fewer records per request".to_owned()
            };
            return Err(self.stop(ReadError::TooLarge(message)));
        };
        self.values_left.set(left);
        self.record_values_left.set(record_left);
        Ok(())
    }

    /// A new record begins: it has its own share of values.
    fn next_record(&self) {
        self.record_values_left.set(self.per_record);
    }

    fn stop<E: de::Error>(&self, reason: ReadError) -> E {
        let message = reason.to_string();
        self.outcome.set(Some(reason));
        E::custom(message)
    }
}

/// The visitor methods for every scalar, all answering `$answer` (a closure of the visitor): where a list or an
/// envelope is expected, a scalar means the same whichever it is.
macro_rules! scalars_answer {
    ($value:ty, $answer:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            ($answer)(self)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> {
            ($answer)(self)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$value, E> {
            ($answer)(self)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> {
            ($answer)(self)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$value, E> {
            ($answer)(self)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> {
            ($answer)(self)
        }
    };
}

enum Top {
    List(Vec<Value>),
    Object(Map<String, Value>),
    Other,
}

struct TopLevel<'a> {
    key: &'a str,
    budget: &'a Budget,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Top;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{{\"{}\": [...]}}", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        RecordList {
            key: self.key,
            budget: self.budget,
        }
        .visit_seq(seq)
        .map(Top::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            self.budget.spend()?;
            if name == self.key {
                let list = map.next_value_seed(RecordList {
                    key: self.key,
                    budget: self.budget,
                })?;
                return skip_rest(map, self.budget).map(|()| Top::List(list));
            }
            let value = map.next_value_seed(Counted(self.budget))?;
            object.insert(name, value);
        }
        Ok(Top::Object(object))
    }

    scalars_answer!(Top, |_visitor: Self| Ok(Top::Other));
}

/// The other entries of the envelope, counted and dropped.
fn skip_rest<'de, A: MapAccess<'de>>(mut map: A, budget: &Budget) -> Result<(), A::Error> {
    while map.next_key::<de::IgnoredAny>()?.is_some() {
        budget.spend()?;
        map.next_value_seed(Counted(budget))?;
    }
    Ok(())
}

struct RecordList<'a> {
    key: &'a str,
    budget: &'a Budget,
}

impl<'de> DeserializeSeed<'de> for RecordList<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Vec<Value>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordList<'_> {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {}", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut records = Vec::new();
        self.budget.next_record();
        while let Some(record) = seq.next_element_seed(Counted(self.budget))? {
            self.budget.next_record();
            if records.len() == self.budget.records {
                return Err(self
                    .budget
                    .stop(too_many_records(self.key, self.budget.records)));
            }
            records.push(record);
        }
        Ok(records)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Vec<Value>, A::Error> {
        Err(self.not_a_list())
    }
    scalars_answer!(Vec<Value>, |visitor: Self| Err(visitor.not_a_list()));
}

impl RecordList<'_> {
    fn not_a_list<E: de::Error>(&self) -> E {
        self.budget.stop(ReadError::Invalid(format!(
            "{key}: expected an array of {key}",
            key = self.key
        )))
    }
}

/// A JSON value, each of its parts spending the budget.
struct Counted<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Counted(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.spend()?;
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            self.0.spend()?;
            let value = map.next_value_seed(Counted(self.0))?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// The rows of a CSV file with a header line, each as an object of its non-empty cells; reading stops past
/// `limits.records` rows.
pub fn read_csv(text: &str, limits: ReadLimits) -> Result<Vec<Value>, ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ReadError::Invalid(format!("the CSV header cannot be read: {e}")))?
        .clone();
    if headers.iter().all(str::is_empty) {
        return Err(ReadError::Invalid(
            "the CSV file has no header line".to_owned(),
        ));
    }
    if headers.len() > MAX_CSV_COLUMNS {
        return Err(ReadError::Invalid(format!(
            "the CSV file has {} columns; at most {MAX_CSV_COLUMNS} are read",
            headers.len()
        )));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ReadError::Invalid(match e.position() {
                    Some(position) => format!("line {}: {e}", position.line()),
                    None => e.to_string(),
                }))
            }
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == limits.records {
            return Err(too_many_records("rows", limits.records));
        }
        let object: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(name, cell)| (name.to_owned(), Value::String(cell.to_owned())))
            .collect();
        rows.push(Value::Object(object));
    }
    Ok(rows)
}

/// The first present, non-null, non-blank value among a field's accepted names.
pub fn field<'a>(record: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .filter_map(|name| record.get(*name))
        .find(|value| match value {
            Value::Null => false,
            Value::String(text) => !text.trim().is_empty(),
            _ => true,
        })
}

/// A string or number as trimmed text.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A cell for a CSV file people open in a spreadsheet: text starting with `=`, `+`, `-`, `@` (or a tab or carriage
/// return) would run as a formula there, so it gets a leading `'`, which spreadsheets show as plain text.
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// `text` cut to `max` characters with an ellipsis, for messages that quote what a client sent.
pub fn quote_short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_are_read_in_every_accepted_shape() {
        let limits = ReadLimits::request(10);
        let enveloped = read_json(
            r#"{"orders": [{"a": 1}, {"b": [1, 2]}], "x": {"y": 1}}"#,
            "orders",
            false,
            limits,
        )
        .unwrap();
        assert_eq!(
            enveloped.records,
            vec![
                serde_json::json!({"a": 1}),
                serde_json::json!({"b": [1, 2]})
            ]
        );
        assert!(!enveloped.single);
        assert_eq!(
            read_json("[{}, {}]", "orders", false, limits)
                .unwrap()
                .records
                .len(),
            2
        );
        let single = read_json(r#"{"email": "a@b.co"}"#, "customers", true, limits).unwrap();
        assert!(single.single);
        assert!(read_json(r#"{"email": "a@b.co"}"#, "orders", false, limits)
            .unwrap_err()
            .to_string()
            .contains("orders: missing"));
        assert!(read_json(r#"{"orders": {}}"#, "orders", false, limits)
            .unwrap_err()
            .to_string()
            .contains("expected an array"));
        assert!(matches!(
            read_json("not json", "orders", false, limits),
            Err(ReadError::Invalid(_))
        ));
        assert!(matches!(
            read_json("[{}] trailing", "orders", false, limits),
            Err(ReadError::Invalid(_))
        ));
    }

    #[test]
    fn a_json_list_over_the_limit_stops_at_the_first_record_too_many() {
        let limits = ReadLimits::request(3);
        assert!(read_json("[1, 2, 3]", "orders", false, limits).is_ok());
        let refused =
            read_json("[1, 2, 3, 4, this is never read", "orders", false, limits).unwrap_err();
        assert!(matches!(refused, ReadError::TooLarge(_)), "{refused:?}");
        assert!(refused.to_string().contains("at most 3"), "{refused}");
    }

    #[test]
    fn a_json_body_with_too_many_values_is_refused_whatever_its_shape() {
        let limits = ReadLimits {
            records: 10,
            values: 1_000,
            values_per_record: 500,
        };
        let wide = format!("[{{\"items\": [{}]}}]", vec!["1"; 5_000].join(","));
        assert!(matches!(
            read_json(&wide, "orders", false, limits),
            Err(ReadError::TooLarge(_))
        ));
        let single = format!(
            "{{{}}}",
            (0..5_000)
                .map(|i| format!("\"k{i}\": 1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(matches!(
            read_json(&single, "customers", true, limits),
            Err(ReadError::TooLarge(_))
        ));
        // Within the body's budget, but over one record's.
        let big_record = format!("[{{\"items\": [{}1]}}]", "1,".repeat(600));
        let refused = read_json(&big_record, "orders", false, limits).unwrap_err();
        assert!(
            refused.to_string().contains("more than 500 values"),
            "{refused}"
        );
        let spread = format!(
            "[{}]",
            vec![format!("[{}1]", "1,".repeat(90)); 10].join(",")
        );
        assert!(read_json(&spread, "orders", false, limits).is_ok());
    }

    #[test]
    fn csv_rows_stop_at_the_limit_and_wide_files_are_refused() {
        let limits = ReadLimits::request(2);
        let rows = read_csv("a,b\n1,\n\n,\n3,4\n", limits).unwrap();
        assert_eq!(
            rows,
            vec![
                serde_json::json!({"a": "1"}),
                serde_json::json!({"a": "3", "b": "4"})
            ]
        );
        let refused = read_csv(&format!("a\n{}", "x\n".repeat(1_000_000)), limits).unwrap_err();
        assert!(matches!(refused, ReadError::TooLarge(_)));
        let wide = (0..=MAX_CSV_COLUMNS)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(matches!(
            read_csv(&wide, limits),
            Err(ReadError::Invalid(_))
        ));
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_made_plain_text() {
        assert_eq!(
            spreadsheet_safe("=HYPERLINK(\"http://evil\")"),
            "'=HYPERLINK(\"http://evil\")"
        );
        for risky in ["+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(spreadsheet_safe(risky).starts_with('\''), "{risky}");
        }
        assert_eq!(spreadsheet_safe("amount: required"), "amount: required");
        assert_eq!(spreadsheet_safe("12"), "12");
    }

    #[test]
    fn quotes_are_cut_short() {
        assert_eq!(quote_short("abc", 5), "\"abc\"");
        assert_eq!(quote_short(&"x".repeat(1_000), 3), "\"xxx\"…");
    }
}
