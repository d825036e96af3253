//! Reading the files and request bodies people import: JSON lists and CSV files with a header line, turned into
//! JSON objects that the order and customer rules then check field by field.

use serde_json::{Map, Value};

/// The records of a JSON body or file: `{"<key>": [...]}` (the API's shape) or a bare array.
pub fn parse_json_list(text: &str, key: &str) -> Result<Vec<Value>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the file is not valid JSON: {e}"))?;
    match value {
        Value::Array(records) => Ok(records),
        Value::Object(mut object) => match object.remove(key) {
            Some(Value::Array(records)) => Ok(records),
            Some(_) => Err(format!("{key}: expected an array of {key}")),
            None => Err(format!("{key}: missing; send {{\"{key}\": [...]}}")),
        },
        _ => Err(format!("expected {{\"{key}\": [...]}}")),
    }
}

/// The rows of a CSV file with a header line, each as an object of its non-empty cells.
pub fn parse_csv_rows(text: &str) -> Result<Vec<Value>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("the CSV header cannot be read: {e}"))?
        .clone();
    if headers.iter().all(str::is_empty) {
        return Err("the CSV file has no header line".to_owned());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(position) => format!("line {}: {e}", position.line()),
            None => e.to_string(),
        })?;
        if record.iter().all(str::is_empty) {
            continue;
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
