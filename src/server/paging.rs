//! Keyset paging, the one way lists page: a page starts after (or ends before) a position, the sort field's value
//! and the `_id` of a row, so that the thousandth page costs what the first does, where skipping would read every
//! row before it. Positions travel as opaque cursors.

use futures::TryStreamExt;
use mongodb::{
    bson::{doc, oid::ObjectId, Bson, DateTime, Document},
    Collection,
};

use crate::{
    server::mongo::all_of,
    shared::{error::AppError, time::now_ms},
};

/// The stored field a list is ordered by, and whether it runs from high to low. `_id` breaks ties in the same
/// direction, so (field, `_id`) is a unique position to page from; an index on (field, `_id`) or (field) serves it.
#[derive(Clone, Copy, Debug)]
pub struct Sort {
    pub field: &'static str,
    pub descending: bool,
    /// The field holds moments (or nothing): a scan towards older ones reads a window of time at a time.
    pub dated: bool,
}

/// The first window a scan towards older moments reads, from now or from the page's position; each next window
/// reaches `WIDEN` times as far back, and after `WINDOWS` of them the rest is read at once. Some databases read the
/// whole range a query bounds before they apply its limit (SecantusDB does: BENCHMARKS.md, "First paint at a
/// million customers"), so a page of the newest rows must not leave the range unbounded; where rows are dense the
/// first window fills the page, and where they are sparse the few windows cost little.
const FIRST_WINDOW_MS: i64 = 3_600_000;
const WIDEN: i64 = 8;
const WINDOWS: u32 = 6;

/// How far back from the anchor each window ends: 1 hour, 8 hours, 64 hours, about 21 days, 171 days, 3.7 years.
fn window_ends(anchor_ms: i64) -> impl Iterator<Item = i64> {
    (0..WINDOWS).map(move |n| anchor_ms.saturating_sub(FIRST_WINDOW_MS * WIDEN.pow(n)))
}

/// The windows of a downward scan of `field` from `anchor_ms`, newest first; together they hold every value, the
/// missing ones last (MongoDB orders a missing value below every moment).
fn windows(field: &str, anchor_ms: i64) -> Vec<Document> {
    let ends: Vec<DateTime> = window_ends(anchor_ms).map(DateTime::from_millis).collect();
    let mut windows = vec![doc! { field: { "$gte": ends[0] } }];
    windows.extend(
        ends.windows(2)
            .map(|pair| doc! { field: { "$gte": pair[1], "$lt": pair[0] } }),
    );
    let oldest = ends[ends.len() - 1];
    windows.push(doc! { "$or": [{ field: { "$lt": oldest } }, { field: Bson::Null }] });
    windows
}

/// One page of rows, and the cursors of the pages beside it where there are any.
pub struct Page {
    pub rows: Vec<Document>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// One page of `size` rows matching `filter`: after the cursor `after`, or before the cursor `before`, or the first.
pub async fn page(
    collection: &Collection<Document>,
    filter: Document,
    sort: Sort,
    after: Option<&str>,
    before: Option<&str>,
    size: i64,
) -> Result<Page, AppError> {
    let Sort {
        field, descending, ..
    } = sort;
    let cursor = match (
        after.filter(|c| !c.is_empty()),
        before.filter(|c| !c.is_empty()),
    ) {
        (Some(after), _) => Some((decode_cursor(after)?, true)),
        (None, Some(before)) => Some((decode_cursor(before)?, false)),
        (None, None) => None,
    };
    // Moving forward in a descending list is moving to lower values.
    let forward = cursor.as_ref().is_none_or(|(_, forward)| *forward);
    let ascending_scan = forward != descending;
    let direction = if ascending_scan { 1 } else { -1 };
    let mut conditions = vec![filter];
    if let Some(((value, id), _)) = &cursor {
        conditions.push(beyond(field, value, *id, ascending_scan));
    }
    // Towards older moments from now or from a dated position, a window at a time; otherwise in one query.
    let anchor = match &cursor {
        None => Some(now_ms()),
        Some(((Bson::DateTime(at), _), _)) => Some(at.timestamp_millis()),
        Some(_) => None,
    };
    let slices = match anchor {
        Some(anchor) if sort.dated && !ascending_scan => windows(field, anchor),
        _ => vec![doc! {}],
    };
    let mut found: Vec<Document> = Vec::with_capacity(size as usize + 1);
    for window in slices {
        let wanted = size + 1 - found.len() as i64;
        if wanted <= 0 {
            break;
        }
        let mut within = conditions.clone();
        within.push(window);
        let rows: Vec<Document> = collection
            .find(all_of(within))
            .sort(doc! { field: direction, "_id": direction })
            .limit(wanted)
            .await?
            .try_collect()
            .await?;
        found.extend(rows);
    }
    let more_beyond = found.len() as i64 > size;
    let mut rows: Vec<Document> = found.into_iter().take(size as usize).collect();
    if !forward {
        rows.reverse();
    }
    let position = |row: &Document| {
        row.get_object_id("_id")
            .ok()
            .map(|id| encode_cursor(row.get(field), id))
    };
    let (has_next, has_previous) = if forward {
        (more_beyond, cursor.is_some())
    } else {
        (true, more_beyond)
    };
    let next = if has_next {
        rows.last().and_then(position)
    } else {
        None
    };
    let previous = if has_previous {
        rows.first().and_then(position)
    } else {
        None
    };
    Ok(Page {
        rows,
        next,
        previous,
    })
}

/// A page position: the sort field's value and the `_id` of the row. Written as `<kind><value>~<id>`.
fn encode_cursor(value: Option<&Bson>, id: ObjectId) -> String {
    let value = match value {
        Some(Bson::String(text)) => format!("s{text}"),
        Some(Bson::DateTime(at)) => format!("d{}", at.timestamp_millis()),
        Some(Bson::Int64(n)) => format!("i{n}"),
        Some(Bson::Int32(n)) => format!("i{n}"),
        Some(Bson::Double(n)) => format!("i{}", *n as i64),
        _ => "n".to_owned(),
    };
    format!("{value}~{}", id.to_hex())
}

fn decode_cursor(cursor: &str) -> Result<(Bson, ObjectId), AppError> {
    let invalid = || {
        AppError::invalid(
            "cursor",
            "This page link is not valid any more; start from the first page.",
        )
    };
    let (value, id) = cursor.rsplit_once('~').ok_or_else(invalid)?;
    let id = ObjectId::parse_str(id).map_err(|_| invalid())?;
    let value = match value.split_at_checked(1).ok_or_else(invalid)? {
        ("s", text) => Bson::String(text.to_owned()),
        ("d", ms) => Bson::DateTime(DateTime::from_millis(ms.parse().map_err(|_| invalid())?)),
        ("i", n) => Bson::Int64(n.parse().map_err(|_| invalid())?),
        ("n", "") => Bson::Null,
        _ => return Err(invalid()),
    };
    Ok((value, id))
}

/// The rows after (`later`) or before the position (value, id) in MongoDB's ascending order, in which a missing
/// value (null) comes before every other.
fn beyond(field: &str, value: &Bson, id: ObjectId, later: bool) -> Document {
    let operator = if later { "$gt" } else { "$lt" };
    let same_value_beyond = doc! { field: value.clone(), "_id": { operator: id } };
    let mut branches = vec![same_value_beyond];
    match (value, later) {
        (Bson::Null, true) => branches.push(doc! { field: { "$ne": Bson::Null } }),
        (Bson::Null, false) => {}
        (value, true) => branches.push(doc! { field: { "$gt": value.clone() } }),
        (value, false) => {
            branches.push(doc! { field: { "$lt": value.clone() } });
            branches.push(doc! { field: Bson::Null });
        }
    }
    doc! { "$or": branches }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = ObjectId::new();
        for value in [
            Bson::String("ada ~ lovelace".into()),
            Bson::DateTime(DateTime::from_millis(5)),
            Bson::Int64(-3),
            Bson::Null,
        ] {
            assert_eq!(
                decode_cursor(&encode_cursor(Some(&value), id)).unwrap(),
                (value, id)
            );
        }
        assert!(decode_cursor("x1~nothex").is_err());
    }

    #[test]
    fn the_windows_of_a_dated_scan_hold_every_value_once_newest_first() {
        let anchor = 10_000 * FIRST_WINDOW_MS;
        let windows = windows("ordered_at", anchor);
        assert_eq!(windows.len(), WINDOWS as usize + 1);
        let at = |ms: i64| Bson::DateTime(DateTime::from_millis(ms));
        assert_eq!(
            windows[0],
            doc! { "ordered_at": { "$gte": at(anchor - FIRST_WINDOW_MS) } }
        );
        assert_eq!(
            windows[1],
            doc! { "ordered_at": { "$gte": at(anchor - 8 * FIRST_WINDOW_MS), "$lt": at(anchor - FIRST_WINDOW_MS) } }
        );
        // Each window starts where the one before it ends, and the last takes the rest and the missing values.
        let ends: Vec<i64> = window_ends(anchor).collect();
        assert!(ends.windows(2).all(|pair| pair[1] < pair[0]));
        assert_eq!(
            windows[WINDOWS as usize],
            doc! { "$or": [{ "ordered_at": { "$lt": at(ends[ends.len() - 1]) } }, { "ordered_at": Bson::Null }] }
        );
    }

    #[test]
    fn paging_beyond_a_missing_value_in_a_descending_list() {
        let id = ObjectId::new();
        // Forward in a descending list scans downwards: after a dated row come older dates, then undated rows.
        let older = beyond(
            "last_order_at",
            &Bson::DateTime(DateTime::from_millis(10)),
            id,
            false,
        );
        assert_eq!(older.get_array("$or").unwrap().len(), 3);
        let undated = beyond("last_order_at", &Bson::Null, id, false);
        assert_eq!(
            undated,
            doc! { "$or": [{ "last_order_at": Bson::Null, "_id": { "$lt": id } }] }
        );
    }
}
